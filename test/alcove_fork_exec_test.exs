defmodule Alcove.ForkExecTest do
  # Alcove.fork_exec/4 and Alcove.Proc.run/3: a program spawned in one
  # request, its steps, its errors, and its output collected.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  doctest Alcove, only: [fork_exec: 5]
  # Alcove.Proc's examples (run/3, fork_exec/3) run in alcove_proc_test.exs.

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    %{drv: drv}
  end

  defp read_until_exit(drv, pipeline, acc \\ []) do
    receive do
      {:alcove_stdout, ^drv, ^pipeline, data} ->
        read_until_exit(drv, pipeline, [acc | data])

      {:alcove_event, ^drv, ^pipeline, {:exit_status, _} = exit} ->
        {IO.iodata_to_binary(acc), exit}

      {:alcove_event, ^drv, ^pipeline, {:termsig, _} = exit} ->
        {IO.iodata_to_binary(acc), exit}
    after
      10_000 -> flunk("no exit event for #{inspect(pipeline)}")
    end
  end

  describe "Alcove.fork_exec/4" do
    test "output and exit status", %{drv: drv} do
      {:ok, pid} = Alcove.fork_exec(drv, [], ["sh", "-c", "echo out; exit 5"], [])
      assert read_until_exit(drv, [pid]) == {"out\n", {:exit_status, 5}}
    end

    test "steps are applied in the child", %{drv: drv} do
      steps = [
        {:env, ["ONLY=1", "PATH=/bin:/usr/bin"]},
        {:chdir, "/tmp"},
        {:umask, 0o27},
        {:setrlimit, :rlimit_nofile, {:alcove_rlimit, 99, 99}}
      ]

      {:ok, pid} =
        Alcove.fork_exec(drv, [], ["sh", "-c", "pwd; umask; ulimit -n; env | sort"], steps)

      {out, {:exit_status, 0}} = read_until_exit(drv, [pid])

      assert String.split(out, "\n", trim: true) == [
               "/tmp",
               "0027",
               "99",
               "ONLY=1",
               "PATH=/bin:/usr/bin",
               "PWD=/tmp"
             ]
    end

    test "a failing step and a missing program leave no process", %{drv: drv} do
      assert Alcove.fork_exec(drv, [], ["true"], chdir: "/nonexistent") ==
               {:error, {:chdir, :enoent}}

      assert Alcove.fork_exec(drv, [], ["/nonexistent/program"], []) == {:error, :enoent}
      assert Alcove.cpid(drv, []) == []
    end

    test "bad shapes raise badarg", %{drv: drv} do
      for {argv, steps} <- [
            {[], []},
            {["true"], [:bogus]},
            {["true"], [{:chdir, 1}]},
            {"true", []}
          ] do
        assert_raise ArgumentError, fn -> Alcove.fork_exec(drv, [], argv, steps) end
      end
    end

    @tag skip: unless_root()
    test "credentials", %{drv: drv} do
      {:ok, pid} =
        Alcove.fork_exec(drv, [], ["sh", "-c", "id -u; id -g; id -G"],
          setgroups: [65534, 100],
          setgid: 65534,
          setuid: 65534
        )

      assert read_until_exit(drv, [pid]) == {"65534\n65534\n65534 100\n", {:exit_status, 0}}
    end
  end

  describe "Alcove.Proc.run/3" do
    setup do
      {:ok, root} = Alcove.Proc.fork()
      on_exit(fn -> if Process.alive?(root), do: Alcove.Proc.stop(root) end)
      %{root: root}
    end

    test "stdout and stderr apart, with the status", %{root: root} do
      assert Alcove.Proc.run(root, ["sh", "-c", "echo a; echo b >&2; kill -TERM $$"]) ==
               {:ok, %{status: {:termsig, :sigterm}, stdout: "a\n", stderr: "b\n"}}
    end

    test "stdin is closed even without the option", %{root: root} do
      assert Alcove.Proc.run(root, ["cat"]) ==
               {:ok, %{status: {:exit_status, 0}, stdout: "", stderr: ""}}
    end

    test "options as a map", %{root: root} do
      assert {:ok, %{stdout: "/\nX=2\n"}} =
               Alcove.Proc.run(root, ["sh", "-c", "pwd; echo X=$X"], %{cwd: "/", env: ["X=2"]})
    end

    test "max_output stops collecting and kills", %{root: root} do
      assert {:error, {:max_output, %{stdout: out}}} =
               Alcove.Proc.run(root, ["sh", "-c", "while :; do echo yyyyyyyy; done"],
                 max_output: 1000
               )

      assert byte_size(out) == 1000
      assert Alcove.Proc.cpid(root) == []
    end

    test "an unknown option raises", %{root: root} do
      assert_raise ArgumentError, fn -> Alcove.Proc.run(root, ["true"], bogus: 1) end
    end
  end
end
