defmodule Alcove.LifecycleTest do
  # Ownership and teardown: which Erlang process gets what, and that no OS
  # process outlives the driver or owner it belongs to.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  # Drivers that end abnormally here (killed, helper gone) log crash
  # reports: expected, so kept out of the test output.
  @moduletag :capture_log

  # A tree with a bit of everything: two levels of helpers and a program
  # exec'd at each level. Returns every OS pid in it.
  defp populate(drv) do
    {:ok, child} = Alcove.fork(drv, [])
    {:ok, grandchild} = Alcove.fork(drv, [child])
    {:ok, sleeper} = Alcove.fork(drv, [child, grandchild])
    :ok = Alcove.execvp(drv, [child, grandchild, sleeper], "sleep", ["sleep", "120"])
    {:ok, cat} = Alcove.fork(drv, [])
    :ok = Alcove.execvp(drv, [cat], "cat", ["cat"])

    pids = tree(drv)
    assert Enum.sort(pids) == Enum.sort([Alcove.getpid(drv, []), child, grandchild, sleeper, cat])
    assert Enum.all?(pids, &os_process?/1)
    pids
  end

  # Runs `fun` in a new process that stays alive until killed; returns its
  # pid and what `fun` returned.
  defp spawn_holding(fun) do
    parent = self()

    pid =
      spawn(fn ->
        send(parent, {:held, self(), fun.()})
        Process.sleep(:infinity)
      end)

    assert_receive {:held, ^pid, result}, 10_000
    {pid, result}
  end

  describe "stop/1" do
    test "leaves no helper or child process behind" do
      {:ok, drv} = Alcove.Drv.start_link()
      pids = populate(drv)
      assert Alcove.Drv.stop(drv) == :ok
      refute Process.alive?(drv)
      # Gone and reaped when stop returns: not even a zombie.
      assert Enum.reject(pids, &os_process?/1) == pids
    end

    test "stopping one driver leaves another alone" do
      {:ok, first} = Alcove.Drv.start_link()
      {:ok, second} = Alcove.Drv.start_link()
      first_pids = populate(first)
      second_pids = populate(second)
      assert Alcove.Drv.stop(first) == :ok
      assert Enum.reject(first_pids, &os_process?/1) == first_pids
      assert Enum.all?(second_pids, &os_process?/1)
      assert Alcove.getpid(second, []) == hd(second_pids)
    end
  end

  describe "owners" do
    test "the driver's owner exiting tears the tree down" do
      {owner, _} = spawn_holding(fn -> :ok end)
      {:ok, drv} = Alcove.Drv.start(owner, [])
      pids = populate(drv)
      ref = Process.monitor(drv)

      Process.exit(owner, :kill)
      assert_receive {:DOWN, ^ref, :process, ^drv, :normal}, 15_000
      assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end)
    end

    test "the linked starter exiting tears the tree down" do
      {starter, {drv, pids}} =
        spawn_holding(fn ->
          {:ok, drv} = Alcove.Drv.start_link()
          {drv, populate(drv)}
        end)

      ref = Process.monitor(drv)
      Process.exit(starter, :kill)
      assert_receive {:DOWN, ^ref, :process, ^drv, _reason}, 15_000
      assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end)
    end

    test "the process that forks a child owns it: output, events, and its exit" do
      {:ok, drv} = Alcove.Drv.start_link()

      {forker, child} =
        spawn_holding(fn ->
          {:ok, child} = Alcove.fork(drv, [])
          :ok = Alcove.execvp(drv, [child], "cat", ["cat"])
          child
        end)

      # Its output goes to the forker, not to the driver's owner.
      :ok = Alcove.stdin(drv, [child], "to the forker\n")
      refute_receive {:alcove_stdout, ^drv, [^child], _}, 200
      {:messages, messages} = Process.info(forker, :messages)
      assert {:alcove_stdout, drv, [child], "to the forker\n"} in messages

      # The forker's exit kills the child; the rest of the tree stays.
      Process.exit(forker, :kill)
      assert eventually(fn -> not os_process?(child) end)
      # The record goes once its pipes are read to their end, which may
      # come after the reap (no exit event marks it: the owner is gone).
      assert eventually(fn -> Alcove.cpid(drv, []) == [] end)
      assert is_integer(Alcove.getpid(drv, []))
    end

    test "controlling_process hands a child's output and events over" do
      {:ok, drv} = Alcove.Drv.start_link()
      {:ok, child} = Alcove.fork(drv, [])
      :ok = Alcove.execvp(drv, [child], "cat", ["cat"])
      {new_owner, :ok} = spawn_holding(fn -> :ok end)

      assert Alcove.Drv.controlling_process(drv, [child], new_owner) == :ok
      # Only the owner may hand it over, and the test process no longer is.
      assert Alcove.Drv.controlling_process(drv, [child], self()) == {:error, :not_owner}

      :ok = Alcove.stdin(drv, [child], "moved\n")
      :ok = Alcove.eof(drv, [child])
      refute_receive {:alcove_stdout, ^drv, [^child], _}, 200
      refute_received {:alcove_event, ^drv, [^child], _}

      assert eventually(fn ->
               {:messages, messages} = Process.info(new_owner, :messages)

               messages == [
                 {:alcove_stdout, drv, [child], "moved\n"},
                 {:alcove_event, drv, [child], {:exit_status, 0}}
               ]
             end)
    end

    test "the new owner's exit kills a handed-over child" do
      {:ok, drv} = Alcove.Drv.start_link()
      {:ok, child} = Alcove.fork(drv, [])
      {new_owner, :ok} = spawn_holding(fn -> :ok end)
      assert Alcove.Drv.controlling_process(drv, [child], new_owner) == :ok

      Process.exit(new_owner, :kill)
      assert eventually(fn -> not os_process?(child) end)
      # The record goes once its pipes are read to their end, which may
      # come after the reap (no exit event marks it: the owner is gone).
      assert eventually(fn -> Alcove.cpid(drv, []) == [] end)
    end

    test "an owner's exit kills every level it forked, programs included" do
      {:ok, drv} = Alcove.Drv.start_link()

      # The kills race with each other: repeat to catch a bad order.
      for _ <- 1..20 do
        {forker, pids} =
          spawn_holding(fn ->
            {:ok, child} = Alcove.fork(drv, [])
            {:ok, grandchild} = Alcove.fork(drv, [child])
            {:ok, sleeper} = Alcove.fork(drv, [child, grandchild])
            :ok = Alcove.execvp(drv, [child, grandchild, sleeper], "sleep", ["sleep", "120"])
            [child, grandchild, sleeper]
          end)

        Process.exit(forker, :kill)
        assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end, 2000), inspect(pids)
      end
    end
  end

  describe "failures" do
    test "killing the driver process still tears the tree down" do
      {:ok, drv} = Alcove.Drv.start()
      pids = populate(drv)
      ref = Process.monitor(drv)
      Process.exit(drv, :kill)
      assert_receive {:DOWN, ^ref, :process, ^drv, :killed}, 5000
      assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end, 10_000)
    end

    test "the helper dying stops the driver and its children" do
      {:ok, drv} = Alcove.Drv.start()
      [root | _] = pids = populate(drv)
      ref = Process.monitor(drv)
      {_, 0} = System.cmd("kill", ["-KILL", Integer.to_string(root)])
      assert_receive {:DOWN, ^ref, :process, ^drv, {:helper_exited, _status}}, 5000
      assert eventually(fn -> not Enum.any?(pids, &os_process?/1) end, 10_000)
    end
  end
end
