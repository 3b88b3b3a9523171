defmodule Alcove.Userns do
  @moduledoc """
  User namespaces for processes of the helper tree: the uid and gid maps
  of a child cloned with `:clone_newuser`, written from its parent (or by
  the child itself). Wraps `:alcove_userns`; see its documentation for
  the kernel's rules (`user_namespaces(7)`).

  A child cloned into a new user namespace has no mapping until one is
  written: it keeps serving calls, with the overflow ids (65534). An
  unprivileged parent may map its own uid and gid, one each, and the gid
  map only after `setgroups` is denied; `map/4` writes `uid_map`, then
  `setgroups`, then `gid_map`. `clone/4` clones and maps in one call.

  Options are a map or a keyword list with `:uid_map` and `:gid_map`
  (lists of `{inside, outside, count}`) and `:setgroups` (`:deny` or
  `:allow`).
  """

  @typedoc "`{inside, outside, count}`: ids `inside..inside + count - 1` are `outside..` outside."
  @type range() :: {non_neg_integer(), non_neg_integer(), pos_integer()}

  @typedoc "The options of `map/4` and `clone/4`."
  @type options() ::
          %{
            optional(:uid_map) => [range()],
            optional(:gid_map) => [range()],
            optional(:setgroups) => :deny | :allow
          }
          | keyword()

  @doc """
  `clone(2)` with `:clone_newuser` added to `flags`, then `map/4` from
  `pipeline`. By default the parent's real uid and gid are 0 inside and
  setgroups is denied. A refused map kills the child and returns the
  error (`{:error, {:uid_map, :eperm}}`); a refused clone returns
  `{:error, {:clone, errno}}`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.Userns.clone(drv, [], [:clone_newuts], %{})
      iex> {Alcove.getuid(drv, [child]), Alcove.getgid(drv, [child])}
      {0, 0}
      iex> Alcove.sethostname(drv, [child], "inside")
      :ok
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec clone(Alcove.drv(), [integer()], integer() | atom() | [atom() | integer()], options()) ::
          {:ok, integer()} | {:error, term()}
  def clone(drv, pipeline, flags, options),
    do: :alcove_userns.clone(drv, pipeline, flags, Map.new(options))

  @doc """
  Writes the maps of the process `target` (a pid as the process at
  `pipeline` sees it, or `:self`) from the process at `pipeline`: only
  the keys given, `uid_map` first, `setgroups` before `gid_map`. Errors
  name the step: `{:error, {:gid_map, :eperm}}`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.clone(drv, [], [:clone_newuser])
      iex> uid = Alcove.getuid(drv, [])
      iex> gid = Alcove.getgid(drv, [])
      iex> Alcove.Userns.map(drv, [], child, uid_map: [{0, uid, 1}], setgroups: :deny, gid_map: [{0, gid, 1}])
      :ok
      iex> Alcove.getuid(drv, [child])
      0
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec map(Alcove.drv(), [integer()], integer() | :self, options()) :: :ok | {:error, term()}
  def map(drv, pipeline, target, options),
    do: :alcove_userns.map(drv, pipeline, target, Map.new(options))

  @doc """
  Checks a map as the kernel will: non-empty, at most 340 ranges, counts
  of at least 1, ids below 4294967295, no overlap inside or outside.

      iex> Alcove.Userns.validate([{0, 100_000, 65536}])
      :ok
      iex> Alcove.Userns.validate([{0, 1000, 10}, {5, 2000, 1}])
      {:error, {:overlap, :inside, {0, 1000, 10}, {5, 2000, 1}}}
      iex> Alcove.Userns.validate([])
      {:error, :empty}
  """
  @spec validate(term()) :: :ok | {:error, term()}
  def validate(id_map), do: :alcove_userns.validate(id_map)

  @doc """
  The text written to `uid_map` or `gid_map` for a map.

      iex> Alcove.Userns.format([{0, 1000, 1}, {1, 100_000, 65535}])
      "0 1000 1\\n1 100000 65535\\n"
  """
  @spec format([range()]) :: String.t()
  def format(id_map), do: id_map |> :alcove_userns.format() |> IO.iodata_to_binary()

  @doc """
  The sysctls keeping an unprivileged user from creating a user
  namespace on this machine, with their values (`[]` when none does).

      iex> is_list(Alcove.Userns.restrictions())
      true
  """
  @spec restrictions() :: [{String.t(), integer()}]
  def restrictions do
    for {name, value} <- :alcove_userns.restrictions(), do: {to_string(name), value}
  end
end
