defmodule Alcove.ProcTest do
  use ExUnit.Case, async: true

  doctest Alcove.Proc

  defmodule Pool do
    use Alcove.Proc, options: []
  end

  setup do
    {:ok, root} = Alcove.Proc.fork()

    on_exit(fn -> Alcove.Proc.stop(root) end)
    %{root: root}
  end

  test "messages are tuples with the task", %{root: root} do
    {:ok, task} = Alcove.Proc.fork(root)
    :ok = Alcove.Proc.execvp(task, ["sh", "-c", "echo out; echo err >&2; exit 2"])
    assert_receive {:stdout, ^task, "out\n"}, 5000
    assert_receive {:stderr, ^task, "err\n"}, 5000
    assert_receive {:exit_status, ^task, 2}, 5000
  end

  test "a task exits with how its process ended", %{root: root} do
    {:ok, task} = Alcove.Proc.fork(root)
    ref = Process.monitor(task)
    # A helper traps signals: the owner is told.
    :ok = Alcove.Proc.kill(root, Alcove.Proc.pidof(task), :sigterm)
    assert_receive {:signal, ^task, :sigterm, _info}, 5000
    {:ok, :sig_info} = Alcove.Proc.sigaction(task, :sigterm, :sig_dfl)
    :ok = Alcove.Proc.kill(root, Alcove.Proc.pidof(task), :sigterm)
    assert_receive {:termsig, ^task, :sigterm}, 5000
    assert_receive {:DOWN, ^ref, :process, ^task, {:shutdown, {:termsig, :sigterm}}}, 5000
  end

  test "generated wrappers take the task", %{root: root} do
    {:ok, task} = Alcove.Proc.fork(root)
    :ok = Alcove.Proc.chdir(task, "/")
    assert Alcove.Proc.getcwd(task) == {:ok, "/"}
    assert Alcove.Proc.getpid(task) == Alcove.Proc.pidof(task)
    assert Alcove.Proc.signal_constant(task, :sigterm) == 15
    assert_raise ErlangError, fn -> Alcove.Proc.getpid(spawn_task_owned_elsewhere(root)) end
  end

  test "a module using Alcove.Proc starts a root task under a supervisor" do
    {:ok, sup} = Supervisor.start_link([Pool], strategy: :one_for_one)
    [{Pool, root, :worker, _}] = Supervisor.which_children(sup)
    assert Alcove.Proc.cmd(root, ["echo", "pooled"]) == "pooled\n"
    Supervisor.stop(sup)
  end

  # A task owned by another process: its calls are refused here (eacces).
  defp spawn_task_owned_elsewhere(root) do
    parent = self()

    spawn(fn ->
      {:ok, task} = Alcove.Proc.fork(root)
      send(parent, {:task, task})
      Process.sleep(:infinity)
    end)

    assert_receive {:task, task}, 5000
    task
  end
end
