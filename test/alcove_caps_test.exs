defmodule Alcove.CapsTest do
  # Capability sets by name, Alcove.Caps and the no_new_privs option,
  # through the Elixir API.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  # An id no account uses: credentials need no passwd entry.
  @uid 64124

  doctest Alcove.Caps, tags: [skip: unless_root()]

  # The driver is linked to the test process: it goes when the test does.
  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    {:ok, drv: drv}
  end

  defp status(pid) do
    for line <- String.split(File.read!("/proc/#{pid}/status"), "\n", trim: true),
        [name, value] = String.split(line, ":", parts: 2),
        into: %{},
        do: {name, String.trim(value)}
  end

  defp exec_status(drv, child) do
    :ok = Alcove.execvp(drv, [child], "cat", ["cat", "/proc/self/status"])
    assert_receive {:alcove_event, ^drv, [^child], {:exit_status, 0}}, 10_000

    for line <- String.split(IO.iodata_to_binary(Alcove.stdout(drv, [child])), "\n", trim: true),
        [name, value] = String.split(line, ":", parts: 2),
        into: %{},
        do: {name, String.trim(value)}
  end

  @tag skip: unless_root()
  test "a root child without cap_chown in its effective set cannot chown", %{drv: drv} do
    path = Path.join(System.tmp_dir!(), "alcove_caps_test_#{System.unique_integer([:positive])}")
    File.write!(path, "")
    on_exit(fn -> File.rm(path) end)
    {:ok, child} = Alcove.fork(drv, [])
    assert {:ok, effective} = Alcove.caps_get(drv, [child], :effective)
    assert :cap_chown in effective
    assert :ok = Alcove.chown(drv, [child], path, @uid, @uid)
    assert :ok = Alcove.caps_drop(drv, [child], :effective, [:cap_chown])
    assert {:error, :eperm} = Alcove.chown(drv, [child], path, 0, 0)
    assert File.stat!(path).uid == @uid
  end

  @tag skip: unless_root()
  test "an ambient capability survives exec into a non-root program", %{drv: drv} do
    {:ok, child} = Alcove.fork(drv, [])
    {:ok, 0, _, _, _, _} = Alcove.prctl(drv, [child], :pr_set_keepcaps, 1, 0, 0, 0)
    :ok = Alcove.setgroups(drv, [child], [])
    :ok = Alcove.setresgid(drv, [child], @uid, @uid, @uid)
    :ok = Alcove.setresuid(drv, [child], @uid, @uid, @uid)
    assert :ok = Alcove.Caps.ambient(drv, [child], [:cap_net_bind_service])
    status = exec_status(drv, child)
    assert [uid | _] = String.split(status["Uid"])
    assert uid == Integer.to_string(@uid)
    assert String.to_integer(status["CapAmb"], 16) == 0x400
    assert String.to_integer(status["CapEff"], 16) == 0x400
  end

  test "unknown capability names and sets", %{drv: drv} do
    {:ok, child} = Alcove.fork(drv, [])

    assert {:error, {:unknown_caps, [:cap_bogus]}} =
             Alcove.caps_drop(drv, [child], :inheritable, [:cap_kill, :cap_bogus])

    assert_raise ArgumentError, fn -> Alcove.caps_get(drv, [child], :everything) end
    assert :cap_chown in Alcove.caps_supported(drv, [child])
  end

  test "no_new_privs: children forked after setopt run without new privileges", %{drv: drv} do
    {:ok, before} = Alcove.fork(drv, [])
    assert Alcove.getopt(drv, [], :no_new_privs) == 0
    assert Alcove.setopt(drv, [], :no_new_privs, 1)
    assert Alcove.getopt(drv, [], :no_new_privs) == 1
    {:ok, later} = Alcove.fork(drv, [])
    # Set before the child answers anything: once it has answered, it is.
    assert Alcove.getpid(drv, [later]) == later
    assert status(later)["NoNewPrivs"] == "1"
    assert status(before)["NoNewPrivs"] == "0"
  end
end
