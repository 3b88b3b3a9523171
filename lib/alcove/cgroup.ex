defmodule Alcove.Cgroup do
  @moduledoc """
  Control groups, driven through a helper: `:alcove_cgroup` for Elixir.

  Every file operation runs in the helper at `pipeline`, so it sees that
  process's mounts and privileges. Two APIs live side by side:

    * the original's cgroup v1 functions (`create/3`, `set/6`, `get/5`,
      `fold/6`, ...), which address every v1 hierarchy mounted;
    * a v2 and hybrid-aware one: `layout/3` finds per controller whether
      it is bound to a v1 hierarchy or to the unified (v2) one, `new/4`
      makes a group in each hierarchy it needs, and limits are set and read
      by name (`:memory_max`, `:pids_max`, `:cpu_max`, `:cpu_weight`,
      `:io_max`, `:memory_high`) through whichever file holds them.

  A group is a map (`t:group/0`): its directory in the v2 tree, its
  directories in v1 hierarchies, and what `new/4` created.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_#{System.pid()}"], %{controllers: [:pids]})
      iex> Alcove.Cgroup.set_limit(drv, [], group, :pids_max, 16)
      :ok
      iex> Alcove.Cgroup.get_limit(drv, [], group, :pids_max)
      {:ok, 16}
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """

  @typedoc "A group made by `new/4`."
  @type group() :: :alcove_cgroup.group()

  @typedoc "What `layout/3` found."
  @type layout() :: :alcove_cgroup.layout()

  @typedoc "A controller: `:memory`, `:pids`, `:cpu`, `:io` (v1 blkio), `:freezer`, ..."
  @type controller() :: :alcove_cgroup.controller()

  @typedoc "A limit's name: `:memory_max`, `:\"memory.max\"`, `\"cpu.max\"`, ..."
  @type limit() :: :alcove_cgroup.limit()

  @typedoc "A limit's value: an integer, `:max`, `{quota, period}`, or io.max devices."
  @type limit_value() :: :alcove_cgroup.limit_value()

  @typedoc "A file operation's error: `{:error, posix}`."
  @type error() :: {:error, atom()}

  # The v2 and hybrid API

  @doc """
  Which hierarchies the process at `pipeline` sees (mountinfo,
  /proc/self/cgroup, the unified root's cgroup.controllers). `opts` may
  name other files (`:mountinfo`, `:cgroup`), for a fake tree.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, layout} = Alcove.Cgroup.layout(drv, [])
      iex> is_list(layout.v1) and is_map(layout.self)
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec layout(Alcove.drv(), Alcove.pipeline(), map()) :: {:ok, layout()} | error()
  defdelegate layout(drv, pipeline, opts \\ %{}), to: :alcove_cgroup

  @doc """
  Where `controller` lives in `layout`: `{:v1, mount}`, `{:v2, mount}` or
  `:none`.

      iex> layout = %{unified: "/u", unified_controllers: [:memory], v1: [{"/p", [:pids]}], self: %{}}
      iex> {Alcove.Cgroup.controller(layout, :pids), Alcove.Cgroup.controller(layout, :memory)}
      {{:v1, "/p"}, {:v2, "/u"}}
  """
  @spec controller(layout(), controller()) :: {:v1 | :v2, binary()} | :none
  defdelegate controller(layout, controller), to: :alcove_cgroup

  @doc """
  Make the group `name` (path components, or a path) in every v1 hierarchy of the
  requested `:controllers` and in the v2 tree (unless `unified: false`),
  enabling controllers in the v2 parents' cgroup.subtree_control.
  `parent: :self` nests it in the helper's own cgroups (inside the
  driver's teardown cgroup).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_new_#{System.pid()}"], %{controllers: [:pids]})
      iex> Enum.all?(Alcove.Cgroup.dirs(group), &File.dir?/1)
      true
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec new(Alcove.drv(), Alcove.pipeline(), String.t() | [String.t()], map()) ::
          {:ok, group()} | error()
  defdelegate new(drv, pipeline, name, opts \\ %{}), to: :alcove_cgroup

  @doc """
  Remove the group's directories and the parents `new/4` made; with
  `kill: true` kill its processes and wait until it is empty first.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_rm_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Cgroup.add_proc(drv, [], group, child)
      :ok
      iex> Alcove.Cgroup.remove(drv, [], group)
      {:error, :ebusy}
      iex> Alcove.Cgroup.remove(drv, [], group, %{kill: true})
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec remove(Alcove.drv(), Alcove.pipeline(), group(), map()) :: :ok | error()
  defdelegate remove(drv, pipeline, group, opts \\ %{}), to: :alcove_cgroup

  @doc """
  The group's directories, v1 ones first.

      iex> Alcove.Cgroup.dirs(%{unified: "/u/g", v1: [{"/p/g", [:pids]}]})
      ["/p/g", "/u/g"]
  """
  @spec dirs(group()) :: [binary()]
  defdelegate dirs(group), to: :alcove_cgroup

  @doc """
  Set a limit by name through the v2 file or its v1 equivalent
  (`{:error, :enotsup}` where there is none, such as memory.high on v1).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_set_#{System.pid()}"], %{controllers: [:cpu]})
      iex> Alcove.Cgroup.set_limit(drv, [], group, :cpu_max, {50_000, 100_000})
      :ok
      iex> Alcove.Cgroup.get_limit(drv, [], group, :cpu_max)
      {:ok, {50_000, 100_000}}
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec set_limit(Alcove.drv(), Alcove.pipeline(), group(), limit(), limit_value()) ::
          :ok | error()
  defdelegate set_limit(drv, pipeline, group, limit, value), to: :alcove_cgroup

  @doc """
  Read a limit by name back from its file.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_get_#{System.pid()}"], %{controllers: [:pids]})
      iex> Alcove.Cgroup.get_limit(drv, [], group, "pids.max")
      {:ok, :max}
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec get_limit(Alcove.drv(), Alcove.pipeline(), group(), limit()) ::
          {:ok, limit_value()} | error()
  defdelegate get_limit(drv, pipeline, group, limit), to: :alcove_cgroup

  @doc """
  Move the process `os_pid` into every directory of the group.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_add_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Cgroup.add_proc(drv, [], group, child)
      :ok
      iex> Alcove.Cgroup.procs(drv, [], group) == {:ok, [child]}
      true
      iex> Alcove.Cgroup.remove(drv, [], group, %{kill: true})
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec add_proc(Alcove.drv(), Alcove.pipeline(), group(), integer()) :: :ok | error()
  defdelegate add_proc(drv, pipeline, group, os_pid), to: :alcove_cgroup

  @doc """
  The processes in the group, sorted.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_procs_#{System.pid()}"], %{controllers: [:pids]})
      iex> Alcove.Cgroup.procs(drv, [], group)
      {:ok, []}
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec procs(Alcove.drv(), Alcove.pipeline(), group()) :: {:ok, [integer()]} | error()
  defdelegate procs(drv, pipeline, group), to: :alcove_cgroup

  @doc """
  The group's event counters: `%{cgroup: ..., memory: ..., pids: ...}`
  from cgroup.events, memory.events (v1: memory.oom_control and
  memory.failcnt) and pids.events.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_ev_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, %{cgroup: %{populated: false}, pids: %{max: 0}}} = Alcove.Cgroup.events(drv, [], group)
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec events(Alcove.drv(), Alcove.pipeline(), group()) :: {:ok, map()} | error()
  defdelegate events(drv, pipeline, group), to: :alcove_cgroup

  @doc """
  Pressure stall information of the group's v2 directory for `:cpu`,
  `:memory`, `:io` or `:irq`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_psi_#{System.pid()}"], %{controllers: []})
      iex> {:ok, %{some: %{total: total}}} = Alcove.Cgroup.pressure(drv, [], group, :cpu)
      iex> is_integer(total)
      true
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec pressure(Alcove.drv(), Alcove.pipeline(), group(), :cpu | :memory | :io | :irq) ::
          {:ok, map()} | error()
  defdelegate pressure(drv, pipeline, group, resource), to: :alcove_cgroup

  @doc """
  Freeze the group; returns once the kernel reports it frozen
  (`{:error, :etimedout}` after `timeout` ms).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_fr_#{System.pid()}"], %{controllers: []})
      iex> Alcove.Cgroup.freeze(drv, [], group)
      :ok
      iex> Alcove.Cgroup.thaw(drv, [], group)
      :ok
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec freeze(Alcove.drv(), Alcove.pipeline(), group(), timeout()) :: :ok | error()
  defdelegate freeze(drv, pipeline, group, timeout \\ 5000), to: :alcove_cgroup

  @doc """
  Thaw the group; returns once it is no longer reported frozen.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_th_#{System.pid()}"], %{controllers: []})
      iex> Alcove.Cgroup.thaw(drv, [], group)
      :ok
      iex> Alcove.Cgroup.remove(drv, [], group)
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec thaw(Alcove.drv(), Alcove.pipeline(), group(), timeout()) :: :ok | error()
  defdelegate thaw(drv, pipeline, group, timeout \\ 5000), to: :alcove_cgroup

  @doc """
  SIGKILL every process in the group: one write to cgroup.kill on v2, a
  freeze, kill each, thaw loop on v1.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_kill_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Cgroup.add_proc(drv, [], group, child)
      :ok
      iex> Alcove.Cgroup.kill(drv, [], group)
      :ok
      iex> receive do {:alcove_event, ^drv, [^child], event} -> event end
      {:termsig, :sigkill}
      iex> Alcove.Cgroup.remove(drv, [], group, %{kill: true})
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec kill(Alcove.drv(), Alcove.pipeline(), group()) :: :ok | error()
  defdelegate kill(drv, pipeline, group), to: :alcove_cgroup

  @doc """
  Push the group's events to the owner of `pipeline` (which must stay a
  helper: `[]` or a container's parent): `{:alcove_event, drv, pipeline,
  {:cgroup, {event, dir, value}}}` for `:populated`, `:frozen` (true or
  false), `:oom`, `:oom_kill` and `:pids_max` (counts, when they grow).
  Returns the watch ids; `new/4` with `watch: true` does this and keeps
  them in the group, and `remove/4` ends them.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_watch_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, ids} = Alcove.Cgroup.watch(drv, [], group)
      iex> Alcove.Cgroup.set_limit(drv, [], group, :pids_max, 1)
      :ok
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Cgroup.add_proc(drv, [], group, child)
      :ok
      iex> Alcove.fork(drv, [child])
      {:error, :eagain}
      iex> receive do {:alcove_event, ^drv, [], {:cgroup, {:pids_max, _dir, n}}} -> n after 5000 -> :none end
      1
      iex> Alcove.Cgroup.unwatch(drv, [], ids)
      :ok
      iex> Alcove.Cgroup.remove(drv, [], group, %{kill: true})
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec watch(Alcove.drv(), Alcove.pipeline(), group()) :: {:ok, [pos_integer()]} | error()
  defdelegate watch(drv, pipeline, group), to: :alcove_cgroup

  @doc "End watches made by `watch/3`."
  @spec unwatch(Alcove.drv(), Alcove.pipeline(), [pos_integer()]) :: :ok
  defdelegate unwatch(drv, pipeline, ids), to: :alcove_cgroup

  @doc """
  clone(2) straight into the group (clone3 `CLONE_INTO_CGROUP` into its v2
  directory, then its v1 ones), with `flags` as for `Alcove.clone/3`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, group} = Alcove.Cgroup.new(drv, [], ["alcove_doc_clone_into_#{System.pid()}"], %{controllers: [:pids]})
      iex> {:ok, child} = Alcove.Cgroup.clone_into(drv, [], group, [:clone_newuts])
      iex> Alcove.Cgroup.procs(drv, [], group)
      {:ok, [child]}
      iex> Alcove.Cgroup.remove(drv, [], group, %{kill: true})
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec clone_into(Alcove.drv(), Alcove.pipeline(), group(), integer() | [atom()]) ::
          {:ok, integer()} | error()
  defdelegate clone_into(drv, pipeline, group, flags), to: :alcove_cgroup

  # The original's v1 API

  @doc """
  Whether cgroups can be used from `pipeline` (every v1 hierarchy a
  directory).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> is_boolean(Alcove.Cgroup.supported(drv, []))
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec supported(Alcove.drv(), Alcove.pipeline()) :: boolean()
  defdelegate supported(drv, pipeline), to: :alcove_cgroup

  @doc """
  mkdir(2) the v1 cgroup `namespace` (default `["alcove"]`) and its
  parents in every v1 hierarchy.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.create(drv, [], ["alcove_doc_v1_#{System.pid()}"])
      :ok
      iex> Alcove.Cgroup.destroy(drv, [], ["alcove_doc_v1_#{System.pid()}"])
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec create(Alcove.drv(), Alcove.pipeline(), [iodata()]) :: :ok
  defdelegate create(drv, pipeline, namespace \\ ["alcove"]), to: :alcove_cgroup

  @doc """
  rmdir(2) the v1 cgroup `namespace` in every v1 hierarchy.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.destroy(drv, [], ["alcove_doc_none_#{System.pid()}"]) in [:ok, []]
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec destroy(Alcove.drv(), Alcove.pipeline(), [iodata()]) :: :ok | error() | []
  defdelegate destroy(drv, pipeline, namespace \\ ["alcove"]), to: :alcove_cgroup

  @doc """
  The v1 hierarchies mounted: `[{dir, mount_options}]`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Enum.all?(Alcove.Cgroup.cgroup(drv, []), fn {dir, opts} -> is_binary(dir) and is_list(opts) end)
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec cgroup(Alcove.drv(), Alcove.pipeline()) :: [{binary(), [binary()]}]
  defdelegate cgroup(drv, pipeline \\ []), to: :alcove_cgroup

  @doc """
  Fold over the directories of the v1 cgroup `namespace` in the
  hierarchies mounted with `mnt_opt` (`""` for all).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.fold(drv, [], "", ["alcove_doc_none"], fn dir, acc -> [dir | acc] end, [])
      []
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec fold(
          Alcove.drv(),
          Alcove.pipeline(),
          binary(),
          [iodata()],
          (binary(), term() -> term()),
          term()
        ) ::
          term()
  defdelegate fold(drv, pipeline, mnt_opt, namespace, fun, acc), to: :alcove_cgroup

  @doc """
  Fold over the names matching `regexp` in those directories.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.fold_files(drv, [], "", ["alcove_doc_none"], "^tasks$", fn f, acc -> [f | acc] end, [])
      []
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec fold_files(
          Alcove.drv(),
          Alcove.pipeline(),
          binary(),
          [iodata()],
          iodata(),
          (binary(), term() -> term()),
          term()
        ) :: term()
  defdelegate fold_files(drv, pipeline, mnt_opt, namespace, regexp, fun, acc), to: :alcove_cgroup

  @doc """
  Read the file `key` of the v1 cgroup `namespace` in the hierarchies
  mounted with `mnt_opt` (`[]` when none has it).

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.get(drv, [], "pids", ["alcove_doc_none"], "pids.max")
      []
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec get(Alcove.drv(), Alcove.pipeline(), binary(), [iodata()], iodata()) ::
          {:ok, binary()} | error() | []
  defdelegate get(drv, pipeline, mnt_opt, namespace, key), to: :alcove_cgroup

  @doc """
  Write `value` to the file `key` of the v1 cgroup `namespace` in the
  hierarchies mounted with `mnt_opt`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.set(drv, [], "pids", ["alcove_doc_none"], "pids.max", "1")
      {:error, :enoent}
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec set(Alcove.drv(), Alcove.pipeline(), binary(), [iodata()], iodata(), iodata()) ::
          :ok | error()
  defdelegate set(drv, pipeline, mnt_opt, namespace, key, value), to: :alcove_cgroup

  @doc """
  Whether `file` can be opened for reading from `pipeline`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.is_file(drv, [], "/proc/self/cgroup")
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec is_file(Alcove.drv(), Alcove.pipeline(), iodata()) :: boolean()
  defdelegate is_file(drv, pipeline, file), to: :alcove_cgroup

  @doc """
  Whether `path` is a directory seen from `pipeline`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> Alcove.Cgroup.is_dir(drv, [], "/proc/self/cgroup")
      false
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec is_dir(Alcove.drv(), Alcove.pipeline(), iodata()) :: boolean()
  defdelegate is_dir(drv, pipeline, path), to: :alcove_cgroup

  @doc """
  The filesystems mounted, from /proc/mounts: a tuple of fields per line.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, mounts} = Alcove.Cgroup.mounts(drv, [])
      iex> Enum.any?(mounts, &(elem(&1, 1) == "/proc"))
      true
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec mounts(Alcove.drv(), Alcove.pipeline()) :: {:ok, [tuple()]} | error()
  defdelegate mounts(drv, pipeline \\ []), to: :alcove_cgroup

  @doc """
  `path` (components, absolute ones taken as relative) under `cgroup`.

      iex> Alcove.Cgroup.join("/sys/fs/cgroup/pids", ["/a", "b"])
      "/sys/fs/cgroup/pids/a/b"
  """
  @spec join(iodata(), [iodata()]) :: binary()
  defdelegate join(cgroup, path), to: :alcove_cgroup

  @doc """
  The components of `path` with any leading `/` dropped.

      iex> Alcove.Cgroup.relpath(["/a/b", "c"])
      ["a", "b", "c"]
  """
  @spec relpath([iodata()]) :: [binary()]
  defdelegate relpath(path), to: :alcove_cgroup

  @doc """
  Every leading part of a path, shortest first.

      iex> Alcove.Cgroup.expand([:a, :b])
      [[:a], [:a, :b]]
  """
  @spec expand([term()]) :: [[term()]]
  defdelegate expand(path), to: :alcove_cgroup
end
