defmodule Alcove.FaultTest do
  # The fault cases, from Elixir: teardown that reaches setsid'd and
  # double-forked processes, the helper's exit status, the error a stopped
  # driver raises, and output held for an owner that does not read.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  @moduletag :capture_log

  # Live processes (zombies excluded) running `sleep tag`.
  defp sleeping(tag) do
    want = "sleep\0#{tag}\0"

    for entry <- File.ls!("/proc"),
        Integer.parse(entry) != :error,
        File.read("/proc/#{entry}/cmdline") == {:ok, want},
        not zombie?(entry),
        do: String.to_integer(entry)
  end

  defp zombie?(pid) do
    case File.read("/proc/#{pid}/stat") do
      {:ok, stat} -> stat |> String.split(") ") |> List.last() |> String.starts_with?("Z")
      _ -> true
    end
  end

  defp tag,
    do: Integer.to_string(300_000 + :erlang.unique_integer([:positive]) + :rand.uniform(100_000))

  defp cgroup_teardown?(drv) do
    helper = Alcove.getpid(drv, [])
    File.read!("/proc/#{helper}/cgroup") =~ "/alcove.#{helper}"
  end

  @cgroup_skip (cond do
                  not root?() ->
                    "needs root (or a delegated cgroup v2) for cgroup teardown"

                  not (File.read!("/proc/self/mountinfo") =~ " - cgroup2 ") ->
                    "no cgroup v2 hierarchy here"

                  true ->
                    false
                end)

  @tag skip: @cgroup_skip
  test "an owner's exit takes setsid'd and double-forked descendants along" do
    {:ok, drv} = Alcove.Drv.start_link()
    assert cgroup_teardown?(drv)
    tag = tag()
    parent = self()

    owner =
      spawn(fn ->
        {:ok, child} = Alcove.fork(drv, [])
        script = "(sleep #{tag} &); setsid sleep #{tag} & exec sleep #{tag}"
        :ok = Alcove.execvp(drv, [child], "/bin/sh", ["sh", "-c", script])
        send(parent, :started)
        Process.sleep(:infinity)
      end)

    assert_receive :started, 5000
    assert eventually(fn -> length(sleeping(tag)) == 3 end)
    Process.exit(owner, :kill)
    assert eventually(fn -> sleeping(tag) == [] end)
    Alcove.Drv.stop(drv)
  end

  test "the helper's exit status is reported" do
    {:ok, drv} = Alcove.Drv.start()
    ref = Process.monitor(drv)
    helper = Alcove.getpid(drv, [])
    System.cmd("kill", ["-9", Integer.to_string(helper)])
    assert_receive {:DOWN, ^ref, :process, ^drv, {:helper_exited, 137}}, 5000
  end

  test "calls on a stopped driver raise closed" do
    {:ok, drv} = Alcove.Drv.start_link()
    :ok = Alcove.Drv.stop(drv)
    assert_raise ErlangError, ~r/closed/, fn -> Alcove.getpid(drv, []) end
  end

  test "output an owner does not read is held, not piled up in the VM" do
    {:ok, drv} = Alcove.Drv.start_link()
    :erlang.garbage_collect()
    before = :erlang.memory(:total)
    {:ok, child} = Alcove.fork(drv, [])
    :ok = Alcove.execvp(drv, [child], "/bin/sh", ["sh", "-c", "exec head -c 268435456 /dev/zero"])
    # Blocked on its full pipe: the helper stopped reading it.
    assert eventually(fn -> File.read("/proc/#{child}/wchan") |> elem(1) =~ "pipe_w" end, 10_000)
    assert :erlang.memory(:total) - before < 64 * 1024 * 1024

    total =
      Stream.repeatedly(fn ->
        receive do
          {:alcove_stdout, ^drv, [^child], data} -> byte_size(data)
          {:alcove_event, ^drv, [^child], {:exit_status, 0}} -> :done
        after
          10_000 -> :timeout
        end
      end)
      |> Enum.take_while(&is_integer/1)
      |> Enum.sum()

    assert total == 268_435_456
    Alcove.Drv.stop(drv)
  end
end
