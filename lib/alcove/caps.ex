defmodule Alcove.Caps do
  @moduledoc """
  Capability recipes built on the `caps_*` calls of `Alcove`
  (capabilities(7)); delegates to `:alcove_caps`.

  Capabilities are lower-case atoms of their C names (`:cap_chown`,
  `:cap_net_bind_service`); sets are `:effective`, `:permitted`,
  `:inheritable`, `:ambient` and `:bounding`.
  """

  @doc """
  `capabilities(7)`: leave only `caps` in every capability set of the
  process (bounding first, then ambient, inheritable, permitted and
  effective); no set gains any. Unknown names give
  `{:error, {:unknown_caps, names}}` before anything changes.
  Calls `:alcove_caps.keep/3`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Caps.keep(drv, [child], [:cap_no_such])
      {:error, {:unknown_caps, [:cap_no_such]}}
      iex> Alcove.Caps.keep(drv, [child], [:cap_kill])
      :ok
      iex> Alcove.caps_get(drv, [child], :inheritable)
      {:ok, []}
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec keep(Alcove.drv(), Alcove.pipeline(), [:alcove.caps_name()]) ::
          :ok | {:error, :alcove.posix() | {:unknown_caps, [atom()]}}
  defdelegate keep(drv, pipeline, caps), to: :alcove_caps

  @doc """
  `capabilities(7)`: raise `caps` in the inheritable, effective and
  ambient sets, so that a program exec'd next (not set-user-ID, without
  file capabilities) has them effective whatever its uid. They must be
  permitted. Calls `:alcove_caps.ambient/3`.

  In a root child: `Alcove.prctl(drv, [child], :pr_set_keepcaps, 1, 0, 0, 0)`,
  `Alcove.setresgid/5` and `Alcove.setresuid/5` to the unprivileged ids,
  then this, then exec.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Caps.ambient(drv, [child], [:cap_no_such])
      {:error, {:unknown_caps, [:cap_no_such]}}
      iex> Alcove.Drv.stop(drv)
      :ok
  """
  @spec ambient(Alcove.drv(), Alcove.pipeline(), [:alcove.caps_name()]) ::
          :ok | {:error, :alcove.posix() | {:unknown_caps, [atom()]}}
  defdelegate ambient(drv, pipeline, caps), to: :alcove_caps
end
