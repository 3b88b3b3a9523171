defmodule Alcove.Drv do
  @moduledoc """
  Starts and stops an alcove driver: the helper process tree the calls in
  `Alcove` run in.

  The driver is a process (its pid is the `drv` every call takes), so it
  can be linked and supervised. Calls do not go through it: they go
  straight to the NIF and the reply comes straight back to the caller.

  The process that starts the driver is its owner unless another `owner` is
  given: it receives the root helper's events, and the whole tree is torn
  down when it exits. The process that forks a child owns that child and
  receives its stdout, stderr and events.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.getpid(drv, [child]) == child
      true
      iex> Alcove.Drv.stop(drv)
      :ok

  Under a supervisor:

      children = [{Alcove.Drv, name: MyApp.Alcove, maxchild: 16}]
      Supervisor.start_link(children, strategy: :one_for_one)
  """

  @typedoc "A driver: the pid returned by `start/2` and `start_link/2`."
  @type t() :: pid()

  @typedoc """
  A start option (a proplist, as for `:alcove_drv`):

    * `{:exec, command}` - command prefix for the helper, e.g. `"sudo -n"`
    * `{:progname, path}` - the helper binary (default `progname/0`)
    * `{:env, [{name, value}]}` - variables added to the helper's environment
    * `:stderr_to_stdout` - merge the children's stderr into stdout
    * `{:owner_exit_signal, signal}` - sent to the owner's OS processes when
      it exits (default 9)
    * `{:maxchild, n}`, `{:maxforkdepth, n}`, `{:depth, n}` and any
      `Alcove.getopt/3` option, as its initial value
    * `{:name, name}` - register the driver under a local name (calls still
      take the pid: `Process.whereis(name)`)
  """
  @type option() ::
          {:exec, String.t() | charlist()}
          | {:progname, Path.t()}
          | {:env, [{String.t() | charlist() | atom(), String.t() | charlist() | atom()}]}
          | :stderr_to_stdout
          | {:owner_exit_signal, integer()}
          | {:name, atom()}
          | {atom(), integer()}

  @doc """
  Starts a driver owned by the caller, not linked to it.

      iex> {:ok, drv} = Alcove.Drv.start()
      iex> is_pid(drv)
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec start() :: {:ok, t()} | {:error, term()}
  def start, do: start(self(), [])

  @doc """
  Starts a driver owned by the caller, not linked to it, with options.

      iex> {:ok, drv} = Alcove.Drv.start(maxchild: 8)
      iex> Alcove.getopt(drv, [], :maxchild)
      8
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec start([option()]) :: {:ok, t()} | {:error, term()}
  def start(options) when is_list(options), do: start(self(), options)

  @doc """
  Starts a driver owned by `owner`, not linked to the caller: `owner` gets
  the root helper's events and its exit tears the tree down.

      iex> owner = spawn(fn -> Process.sleep(:infinity) end)
      iex> {:ok, drv} = Alcove.Drv.start(owner, [])
      iex> ref = Process.monitor(drv)
      iex> Process.exit(owner, :kill)
      iex> assert_receive {:DOWN, ^ref, :process, ^drv, :normal}, 5000
      iex> Process.alive?(drv)
      false
  """
  @spec start(pid(), [option()]) :: {:ok, t()} | {:error, term()}
  def start(owner, options) when is_pid(owner) and is_list(options) do
    {name, options} = pop_name(options)
    :alcove_drv.start(owner, erlang_options(options)) |> register(name)
  end

  @doc """
  Starts a driver linked to and owned by the caller.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.getpid(drv, []) == Alcove.getpid(drv, [])
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec start_link() :: {:ok, t()} | {:error, term()}
  def start_link, do: start_link(self(), [])

  @doc """
  Starts a driver linked to and owned by the caller, with options.

  This is what `child_spec/1` starts, so under a supervisor the supervisor
  is the owner, unless `child_spec/1` is given an `:owner`.

      iex> {:ok, drv} = Alcove.Drv.start_link(name: :alcove_doc_drv)
      iex> Process.whereis(:alcove_doc_drv) == drv
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec start_link([option()]) :: {:ok, t()} | {:error, term()}
  def start_link(options) when is_list(options), do: start_link(self(), options)

  @doc """
  Starts a driver linked to the caller and owned by `owner`. The owner
  receives the root helper's events, such as the signals it traps.

      iex> {:ok, drv} = Alcove.Drv.start_link(self(), maxchild: 8)
      iex> Alcove.kill(drv, [], Alcove.getpid(drv, []), :sigusr1)
      :ok
      iex> {:signal, :sigusr1, _info} = Alcove.event(drv, [], 5000)
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec start_link(pid(), [option()]) :: {:ok, t()} | {:error, term()}
  def start_link(owner, options) when is_pid(owner) and is_list(options) do
    {name, options} = pop_name(options)
    :alcove_drv.start_link(owner, erlang_options(options)) |> register(name)
  end

  @doc """
  Stops the driver. When this returns, the helper and every process under
  it are gone and reaped.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Drv.stop(drv)
      :ok
      iex> Process.alive?(drv)
      false
  """
  @spec stop(t()) :: :ok
  def stop(drv), do: :alcove_drv.stop(drv)

  @doc """
  Makes `pid` the owner of the process at `pipeline`: from now on it
  receives that process's stdout, stderr and events, and its exit kills the
  process. Only the current owner may call this.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> parent = self()
      iex> owner = spawn(fn -> receive do: (event -> send(parent, {:forwarded, event})) end)
      iex> Alcove.Drv.controlling_process(drv, [child], owner)
      :ok
      iex> Alcove.Drv.controlling_process(drv, [child], self())
      {:error, :not_owner}
      iex> Alcove.exit(drv, [child], 0)
      :ok
      iex> assert_receive {:forwarded, {:alcove_event, ^drv, [^child], {:exit_status, 0}}}, 5000
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec controlling_process(t(), Alcove.pipeline(), pid()) :: :ok | {:error, :not_owner}
  def controlling_process(drv, pipeline, pid) when is_pid(pid),
    do: :alcove_drv.controlling_process(drv, pipeline, pid)

  @doc """
  The helper's argv for a list of start options, as the original alcove
  built it (`exec` prefix, helper, `-d depth`, `-m maxchild`, then this
  project's other options as `--name value`); given a running driver, the
  argv it was started with. Raises `ArgumentError` when the program cannot
  be found.

  Re-executing a helper in place (as prx does) uses it: clear
  close-on-exec on fds 3, 4 and 5, then `fexecve` this argv with
  `depth: length(pipeline)`.

      iex> Alcove.Drv.getopts([])
      [Alcove.Drv.progname()]
      iex> Alcove.Drv.getopts(depth: 2, maxchild: 8)
      [Alcove.Drv.progname(), '-d', '2', '-m', '8']
      iex> {:ok, drv} = Alcove.Drv.start_link(maxchild: 8)
      iex> Alcove.Drv.getopts(drv)
      [Alcove.Drv.progname(), '-m', '8']
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec getopts(t() | [option()]) :: [charlist()]
  def getopts(drv_or_options), do: :alcove_drv.getopts(drv_or_options)

  @doc """
  The default path of the helper binary: `alcove` in the application's
  `priv` directory.

      iex> Path.basename(Alcove.Drv.progname())
      "alcove"
      iex> File.exists?(Alcove.Drv.progname())
      true
  """
  @spec progname() :: charlist()
  def progname, do: :alcove_drv.progname()

  @doc """
  A child specification for starting a driver under a supervisor.

  Takes the options of `start_link/1`, plus `:owner`: the process whose
  exit tears the tree down (default: the supervisor). A driver with an
  `:owner` stops normally when its owner exits, so it is not restarted
  (`restart: :transient`); without one it is `:permanent`.

      iex> spec = Alcove.Drv.child_spec(maxchild: 8)
      iex> spec.start
      {Alcove.Drv, :start_link, [[maxchild: 8]]}
      iex> {:ok, sup} = Supervisor.start_link([spec], strategy: :one_for_one)
      iex> [{Alcove.Drv, drv, :worker, [Alcove.Drv]}] = Supervisor.which_children(sup)
      iex> Alcove.getopt(drv, [], :maxchild)
      8
      iex> Supervisor.stop(sup)
      :ok
  """
  @spec child_spec([option() | {:owner, pid()}]) :: Supervisor.child_spec()
  def child_spec(options) when is_list(options) do
    {start, restart} =
      case :proplists.get_value(:owner, options) do
        owner when is_pid(owner) ->
          {{__MODULE__, :start_link, [owner, :proplists.delete(:owner, options)]}, :transient}

        :undefined ->
          {{__MODULE__, :start_link, [options]}, :permanent}
      end

    %{
      id: __MODULE__,
      start: start,
      type: :worker,
      restart: restart,
      # Stopping waits up to 10 s for the helper tree to be reaped.
      shutdown: 15_000
    }
  end

  defp pop_name(options) do
    {:proplists.get_value(:name, options, nil), :proplists.delete(:name, options)}
  end

  # :alcove_drv splits `exec` with string:tokens/2, which takes a charlist.
  defp erlang_options(options) do
    Enum.map(options, fn
      {:exec, command} when is_binary(command) -> {:exec, String.to_charlist(command)}
      {:progname, path} when is_binary(path) -> {:progname, String.to_charlist(path)}
      option -> option
    end)
  end

  defp register({:ok, drv}, nil), do: {:ok, drv}

  defp register({:ok, drv}, name) when is_atom(name) do
    Process.register(drv, name)
    {:ok, drv}
  rescue
    # The name is taken: do not leave an unreachable driver behind.
    ArgumentError ->
      :ok = :alcove_drv.stop(drv)
      {:error, {:already_started, Process.whereis(name)}}
  end

  defp register(error, _name), do: error
end
