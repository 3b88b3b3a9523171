defmodule Alcove.SeccompTest do
  # Alcove.Seccomp: filters by system call name and user notifications
  # through the Elixir wrapper.
  use ExUnit.Case, async: true

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    {:ok, child} = Alcove.fork(drv, [])

    dir =
      Path.join(System.tmp_dir!(), "alcove_seccomp_test_#{System.unique_integer([:positive])}")

    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{drv: drv, child: child, dir: dir}
  end

  test "deny with an errno", %{drv: drv, child: child, dir: dir} do
    path = Path.join(dir, "denied")
    assert :ok = Alcove.Seccomp.install(drv, [child], %{deny: [{:mkdir, {:errno, :eacces}}]})
    assert {:error, :eacces} = Alcove.mkdir(drv, [child], path, 0o755)
    refute File.dir?(path)
    assert :ok = Alcove.mkdir(drv, [], path, 0o755)
  end

  test "kill_process by default for names not allowed", %{drv: drv, child: child} do
    assert :ok = Alcove.Seccomp.install(drv, [child], %{deny: [:getcwd]}, %{no_new_privs: true})

    assert child == Alcove.getpid(drv, [child])
    assert {:termsig, :sigsys} = catch_error(Alcove.getcwd(drv, [child]))
  end

  test "unknown names raise naming them", %{drv: drv, child: child} do
    assert {:unknown_syscalls, [:no_such_call]} =
             catch_error(Alcove.Seccomp.install(drv, [child], %{deny: [:no_such_call, :mkdir]}))

    assert child == Alcove.getpid(drv, [child])
  end

  test "user_notif answered from Elixir", %{drv: drv, child: child, dir: dir} do
    path = Path.join(dir, "notified")
    assert :ok = Alcove.Seccomp.install(drv, [child], %{rules: [{:mkdir, :user_notif}]})
    task = Task.async(fn -> Alcove.mkdir(drv, [child], path, 0o755) end)

    assert_receive {:alcove_event, ^drv, [^child],
                    {:seccomp_notif, id, ^child, :mkdir, [_, 0o755 | _]}},
                   10_000

    refute File.dir?(path)
    assert :ok = Alcove.Seccomp.respond(drv, [child], id, :continue)
    assert :ok = Task.await(task)
    assert File.dir?(path)
  end

  test "the BPF helpers delegate" do
    assert <<_::binary-size(8)>> = Alcove.Seccomp.stmt(6, 0x7FFF0000)
    assert 0 == Alcove.Seccomp.offset(:nr)
  end
end
