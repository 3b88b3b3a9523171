defmodule Alcove.Seccomp do
  @moduledoc """
  seccomp filters for Elixir: `:alcove_seccomp`.

  `install/3,4` installs a filter given by system call names in the process
  at a pipeline; `respond/4` answers a `user_notif` notification. The spec
  is a map:

    * `:default` - the action for calls no rule matches (default `:allow`);
    * `:rules` - `[{name, action} | {name, action, [condition]}]`, tried first;
    * `:deny` - names (with `:deny_action`, default `:kill_process`) or rules;
    * `:allow` - names, or `{name, [condition]}`.

  The first rule that matches decides. Actions: `:allow`, `:kill_process`,
  `:kill_thread`, `:trap`, `:log`, `:user_notif`, `{:errno, errno}`,
  `{:trace, n}`. A condition is `{arg, op, value}` (64-bit compare) or
  `{arg, op, value, :dword}`, `op` one of `:eq`, `:ne`, `:lt`, `:le`, `:gt`,
  `:ge`, `{:masked_eq, mask}`.

      iex> {:ok, drv} = Alcove.Drv.start_link()
      iex> {:ok, child} = Alcove.fork(drv, [])
      iex> Alcove.Seccomp.install(drv, [child], %{deny: [{:mkdir, {:errno, :eacces}}]})
      :ok
      iex> Alcove.mkdir(drv, [child], "/tmp/alcove_seccomp_doc", 0o755)
      {:error, :eacces}

  A `user_notif` call waits while the owner of the pipeline receives
  `{:alcove_event, drv, pipeline, {:seccomp_notif, id, os_pid, syscall, args}}`
  and answers with `respond/4`. See `:alcove_seccomp` for the details.
  """

  @doc """
  Install a filter by system call names with the default options
  (`:alcove_seccomp.install/3`). Unknown names raise the error
  `{:unknown_syscalls, names}` (`catch_error/1` gives that term).
  """
  @spec install(:alcove_drv.ref(), [integer()], :alcove_seccomp.spec()) ::
          :ok | {:error, atom()}
  defdelegate install(drv, pipeline, spec), to: :alcove_seccomp

  @doc """
  Install a filter by system call names (`:alcove_seccomp.install/4`):
  options `:no_new_privs` (default `true`), `:log`, `:spec_allow`.
  """
  @spec install(:alcove_drv.ref(), [integer()], :alcove_seccomp.spec(), :alcove_seccomp.options()) ::
          :ok | {:error, atom()}
  defdelegate install(drv, pipeline, spec, opts), to: :alcove_seccomp

  @doc """
  Answer notification `id` of the filter of the process at `pipeline`
  (`:alcove_seccomp.respond/4`): `:continue`, `{:errno, errno}` or
  `{:return, value}`.
  """
  @spec respond(:alcove_drv.ref(), [integer()], non_neg_integer(), :alcove_seccomp.response()) ::
          :ok | {:error, atom()}
  defdelegate respond(drv, pipeline, id, response), to: :alcove_seccomp

  @doc "A BPF instruction that does not jump (`:alcove_seccomp.stmt/2`)."
  @spec stmt(non_neg_integer(), integer()) :: binary()
  defdelegate stmt(code, k), to: :alcove_seccomp

  @doc "A conditional BPF jump (`:alcove_seccomp.jump/4`)."
  @spec jump(non_neg_integer(), integer(), non_neg_integer(), non_neg_integer()) :: binary()
  defdelegate jump(code, k, jt, jf), to: :alcove_seccomp

  @doc "The 8 bytes of a struct sock_filter, or the record back (`:alcove_seccomp.insn/1`)."
  @spec insn(term()) :: term()
  defdelegate insn(insn), to: :alcove_seccomp

  @doc "Offset of a struct seccomp_data field, or a load size's code (`:alcove_seccomp.offset/1`)."
  @spec offset(term()) :: term()
  defdelegate offset(field), to: :alcove_seccomp
end
