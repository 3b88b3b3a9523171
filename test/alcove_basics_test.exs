defmodule Alcove.BasicsTest do
  # fork and pipelines, options, working directory, and the error contract
  # of a call (badpid, timeout).
  use ExUnit.Case, async: true

  require Alcove

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    %{drv: drv}
  end

  # The parent pid of an OS process, from /proc/PID/stat.
  defp ppid(pid) do
    stat = File.read!("/proc/#{pid}/stat")
    # The command name (field 2) may contain spaces: skip past its ")".
    [_state, ppid | _] = stat |> String.split(") ", parts: 2) |> List.last() |> String.split()
    String.to_integer(ppid)
  end

  # Forks `depth` levels below the root helper; returns the pipeline.
  defp fork_chain(drv, depth) do
    Enum.reduce(1..depth, [], fn _, pipeline ->
      {:ok, pid} = Alcove.fork(drv, pipeline)
      pipeline ++ [pid]
    end)
  end

  describe "fork and getpid" do
    test "getpid on [] is the root helper, a child of the VM", %{drv: drv} do
      root = Alcove.getpid(drv, [])
      assert is_integer(root) and root > 0
      assert ppid(root) == String.to_integer(System.pid())
    end

    test "getpid on [child] is the pid fork returned", %{drv: drv} do
      assert {:ok, child} = Alcove.fork(drv, [])
      assert Alcove.getpid(drv, [child]) == child
      assert ppid(child) == Alcove.getpid(drv, [])
    end

    test "sibling children are distinct and listed by cpid", %{drv: drv} do
      {:ok, first} = Alcove.fork(drv, [])
      {:ok, second} = Alcove.fork(drv, [])
      assert first != second

      children = for process <- Alcove.cpid(drv, []), do: Alcove.alcove_pid(process, :pid)
      assert Enum.sort(children) == Enum.sort([first, second])
    end

    test "a nested pipeline names one process per level", %{drv: drv} do
      pipeline = fork_chain(drv, 5)
      root = Alcove.getpid(drv, [])

      for depth <- 1..5 do
        prefix = Enum.take(pipeline, depth)
        pid = List.last(prefix)
        assert Alcove.getpid(drv, prefix) == pid
        # Each level was forked by the one above it.
        assert ppid(pid) == Enum.at([root | pipeline], depth - 1)
      end
    end

    test "16 nested forks work, the 17th gives eagain", %{drv: drv} do
      pipeline = fork_chain(drv, 16)
      assert Alcove.getpid(drv, pipeline) == List.last(pipeline)
      assert Alcove.fork(drv, pipeline) == {:error, :eagain}
    end

    test "concurrent callers on one pipeline each get their own reply", %{drv: drv} do
      {:ok, child} = Alcove.fork(drv, [])

      results =
        1..8
        |> Enum.map(fn _ ->
          Task.async(fn -> for _ <- 1..50, do: Alcove.getpid(drv, [child]) end)
        end)
        |> Task.await_many(30_000)

      assert List.flatten(results) == List.duplicate(child, 8 * 50)
    end
  end

  describe "getopt and setopt" do
    test "defaults", %{drv: drv} do
      defaults = [
        maxchild: 64,
        exit_status: 1,
        maxforkdepth: 16,
        termsig: 1,
        flowcontrol: -1,
        signaloneof: 15,
        stdin_closed: 0,
        stdout_closed: 0,
        stderr_closed: 0
      ]

      for {option, value} <- defaults do
        assert {option, Alcove.getopt(drv, [], option)} == {option, value}
      end
    end

    test "setopt changes an option and forked children inherit it", %{drv: drv} do
      assert Alcove.setopt(drv, [], :maxchild, 3)
      assert Alcove.getopt(drv, [], :maxchild) == 3
      {:ok, child} = Alcove.fork(drv, [])
      assert Alcove.getopt(drv, [child], :maxchild) == 3

      # The child's own options are its own.
      assert Alcove.setopt(drv, [child], :maxchild, 5)
      assert Alcove.getopt(drv, [child], :maxchild) == 5
      assert Alcove.getopt(drv, [], :maxchild) == 3
    end

    test "maxchild caps the number of children", %{drv: drv} do
      assert Alcove.setopt(drv, [], :maxchild, 2)
      assert {:ok, _} = Alcove.fork(drv, [])
      assert {:ok, _} = Alcove.fork(drv, [])
      assert Alcove.fork(drv, []) == {:error, :eagain}
    end

    test "an unknown option gives false", %{drv: drv} do
      refute Alcove.getopt(drv, [], :no_such_option)
      refute Alcove.setopt(drv, [], :no_such_option, 1)
    end

    test "start options set the initial values" do
      {:ok, drv} = Alcove.Drv.start_link(maxchild: 7, termsig: 0)
      assert Alcove.getopt(drv, [], :maxchild) == 7
      assert Alcove.getopt(drv, [], :termsig) == 0
    end
  end

  describe "getcwd and chdir" do
    test "the root helper starts in the VM's working directory", %{drv: drv} do
      assert Alcove.getcwd(drv, []) == {:ok, File.cwd!()}
    end

    test "chdir changes only the process it runs in", %{drv: drv} do
      {:ok, child} = Alcove.fork(drv, [])
      dir = System.tmp_dir!() |> Path.expand()
      assert Alcove.chdir(drv, [child], dir) == :ok
      assert Alcove.getcwd(drv, [child]) == {:ok, dir}
      assert Alcove.getcwd(drv, []) == {:ok, File.cwd!()}
      # iodata is accepted wherever a path is.
      assert Alcove.chdir(drv, [child], ['/', "tmp"]) == :ok
      assert Alcove.getcwd(drv, [child]) == {:ok, "/tmp"}
    end

    test "chdir to a missing directory is {:error, :enoent}", %{drv: drv} do
      assert Alcove.chdir(drv, [], "/nonexistent/alcove") == {:error, :enoent}
      assert Alcove.getcwd(drv, []) == {:ok, File.cwd!()}
    end
  end

  describe "errors" do
    defp raised(fun) do
      fun.()
      flunk("expected an error")
    rescue
      error in ErlangError -> error.original
    end

    test "a pid that is not a child raises badpid", %{drv: drv} do
      assert raised(fn -> Alcove.getpid(drv, [999_999_999]) end) == :badpid
      assert raised(fn -> Alcove.getpid(drv, [0]) end) == :badpid

      {:ok, child} = Alcove.fork(drv, [])
      assert raised(fn -> Alcove.getpid(drv, [child, 999_999_999]) end) == :badpid
      # The driver is still fine.
      assert Alcove.getpid(drv, [child]) == child
    end

    test "a child that exited raises badpid", %{drv: drv} do
      {:ok, child} = Alcove.fork(drv, [])
      assert Alcove.exit(drv, [child], 0) == :ok
      assert Alcove.event(drv, [child], 5000) == {:exit_status, 0}
      assert raised(fn -> Alcove.getpid(drv, [child]) end) == :badpid
    end

    test "a bad argument raises badarg", %{drv: drv} do
      assert_raise ArgumentError, fn -> Alcove.chdir(drv, [], :not_iodata) end
      assert_raise ArgumentError, fn -> Alcove.chdir(drv, [], %{}) end
      assert_raise ArgumentError, fn -> Alcove.getopt(drv, [], "maxchild") end
      assert_raise ArgumentError, fn -> Alcove.getpid(drv, [:not_a_pid]) end
      assert Alcove.getpid(drv, []) |> is_integer()
    end

    test "an integer is not iodata", %{drv: drv} do
      assert_raise ArgumentError, fn -> Alcove.chdir(drv, [], 47) end
    end

    test "a timeout exits with :timeout and the late reply is dropped", %{drv: drv} do
      {:ok, child} = Alcove.fork(drv, [])
      # A stopped process cannot answer.
      assert Alcove.kill(drv, [], child, :sigstop) == :ok
      assert catch_exit(Alcove.getpid(drv, [child], 100)) == :timeout

      assert Alcove.kill(drv, [], child, :sigcont) == :ok
      assert Alcove.getpid(drv, [child]) == child
      Process.sleep(200)
      refute_received {:alcove_call, ^drv, _, _}
      refute_received {:alcove_ctl, ^drv, _, _}
    end

    test "a zero timeout never leaves a reply behind", %{drv: drv} do
      for _ <- 1..200 do
        try do
          Alcove.getpid(drv, [], 0)
        catch
          :exit, :timeout -> :timeout
        end
      end

      Process.sleep(100)
      refute_received {:alcove_call, ^drv, _, _}
    end
  end
end
