defmodule Alcove.SupervisorTest do
  # Alcove.Drv as a child of a Supervisor: the child spec, restarts, and
  # teardown of the OS processes when the supervision tree goes.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  # Drivers that are killed here log crash reports: expected.
  @moduletag :capture_log

  defp driver(supervisor) do
    [{Alcove.Drv, drv, :worker, [Alcove.Drv]}] = Supervisor.which_children(supervisor)
    drv
  end

  # A child and a program under it, so teardown has more than the root to do.
  defp populate(drv) do
    {:ok, child} = Alcove.fork(drv, [])
    {:ok, program} = Alcove.fork(drv, [child])
    :ok = Alcove.execvp(drv, [child, program], "sleep", ["sleep", "120"])
    [Alcove.getpid(drv, []), child, program]
  end

  test "child_spec/1" do
    assert Alcove.Drv.child_spec([]) == %{
             id: Alcove.Drv,
             start: {Alcove.Drv, :start_link, [[]]},
             type: :worker,
             restart: :permanent,
             shutdown: 15_000
           }

    owner = self()
    spec = Alcove.Drv.child_spec(owner: owner, maxchild: 4)
    assert spec.start == {Alcove.Drv, :start_link, [owner, [maxchild: 4]]}
    assert spec.restart == :transient

    # Overrides go through Supervisor.child_spec/2 as usual.
    assert Supervisor.child_spec({Alcove.Drv, []}, id: :other).id == :other
  end

  test "a supervised driver takes options and a name" do
    children = [{Alcove.Drv, maxchild: 4, name: :alcove_supervised_drv}]
    {:ok, supervisor} = Supervisor.start_link(children, strategy: :one_for_one)
    drv = driver(supervisor)
    assert Process.whereis(:alcove_supervised_drv) == drv
    assert Alcove.getopt(drv, [], :maxchild) == 4
    assert {:ok, child} = Alcove.fork(drv, [])
    assert Alcove.getpid(drv, [child]) == child
    assert Supervisor.stop(supervisor) == :ok
    assert Process.whereis(:alcove_supervised_drv) == nil
  end

  test "stopping the supervisor tears the tree down" do
    {:ok, supervisor} = Supervisor.start_link([Alcove.Drv], strategy: :one_for_one)
    pids = populate(driver(supervisor))
    assert Supervisor.stop(supervisor) == :ok
    # The driver's terminate waits for the tree to be reaped.
    assert Enum.reject(pids, &os_process?/1) == pids
  end

  test "killing the supervisor tears the tree down" do
    Process.flag(:trap_exit, true)
    {:ok, supervisor} = Supervisor.start_link([Alcove.Drv], strategy: :one_for_one)
    drv = driver(supervisor)
    pids = populate(drv)
    ref = Process.monitor(drv)

    Process.exit(supervisor, :kill)
    assert_receive {:DOWN, ^ref, :process, ^drv, _reason}, 15_000
    assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end)
  end

  test "a driver that dies is restarted with a fresh helper" do
    {:ok, supervisor} = Supervisor.start_link([Alcove.Drv], strategy: :one_for_one)
    drv = driver(supervisor)
    pids = populate(drv)

    Process.exit(drv, :kill)
    assert eventually(fn -> driver(supervisor) not in [drv, :restarting, :undefined] end)
    assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end)

    new_drv = driver(supervisor)
    assert Alcove.getpid(new_drv, []) not in pids
    assert {:ok, _} = Alcove.fork(new_drv, [])
    assert Supervisor.stop(supervisor) == :ok
  end

  test "killing the owner tears down, and the driver is not restarted" do
    owner = spawn(fn -> Process.sleep(:infinity) end)
    children = [{Alcove.Drv, owner: owner}]
    {:ok, supervisor} = Supervisor.start_link(children, strategy: :one_for_one)
    drv = driver(supervisor)
    pids = populate(drv)
    ref = Process.monitor(drv)

    Process.exit(owner, :kill)
    assert_receive {:DOWN, ^ref, :process, ^drv, :normal}, 15_000
    assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end)
    # A driver whose owner is gone has nothing to restart for.
    assert Supervisor.which_children(supervisor) == [
             {Alcove.Drv, :undefined, :worker, [Alcove.Drv]}
           ]

    assert Supervisor.stop(supervisor) == :ok
  end
end
