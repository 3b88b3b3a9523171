defmodule Alcove.CgroupTest do
  # Alcove.Cgroup: its examples (those making cgroups need root and, for
  # freeze, PSI and the moduledoc, a cgroup v2 tree), a fake tree for the
  # v2 files on any machine, and a real group's events.
  use ExUnit.Case, async: false

  import Alcove.TestHelper

  @v2? File.read!("/proc/self/mountinfo") |> String.contains?(" - cgroup2 ")

  @needs_root doc_arities(
                Alcove.Cgroup,
                ~w(new remove set_limit get_limit add_proc procs events kill create watch clone_into)a
              )
  @needs_v2 doc_arities(Alcove.Cgroup, ~w(pressure freeze thaw)a)
  @skip_v2 unless_root() || (not @v2? && "needs a cgroup v2 hierarchy")

  doctest Alcove.Cgroup, except: [:moduledoc | @needs_root ++ @needs_v2]
  doctest Alcove.Cgroup, only: @needs_root, tags: [skip: unless_root()]
  doctest Alcove.Cgroup, only: [:moduledoc | @needs_v2], tags: [skip: @skip_v2]

  setup do
    # Not linked: it outlives the test process until on_exit stops it.
    {:ok, drv} = Alcove.Drv.start()

    on_exit(fn ->
      Alcove.Drv.stop(drv)
      remove_leftovers()
    end)

    %{drv: drv}
  end

  # Every directory the examples and tests here name, in any hierarchy, whatever happened.
  defp remove_leftovers do
    mounts =
      for line <- File.read!("/proc/self/mountinfo") |> String.split("\n", trim: true),
          [left, right] = String.split(line, " - ", parts: 2),
          String.starts_with?(right, "cgroup"),
          do: left |> String.split(" ") |> Enum.at(4)

    for mount <- mounts,
        dir <- Path.wildcard(Path.join(mount, "alcove_{doc,exunit}_*#{System.pid()}")) do
      File.write(Path.join(dir, "cgroup.kill"), "1")

      for pid <- String.split(File.read!(Path.join(dir, "cgroup.procs")), "\n", trim: true),
          do: System.cmd("kill", ["-9", pid])

      eventually(fn -> File.rmdir(dir) == :ok end)
    end
  end

  test "v2 limits by name on a fake cgroupfs", %{drv: drv} do
    root = Path.join(System.tmp_dir!(), "alcove_cgfake_exunit_#{System.pid()}")
    File.rm_rf!(root)
    on_exit(fn -> File.rm_rf!(root) end)
    unified = Path.join(root, "unified")
    File.mkdir_p!(unified)
    File.write!(Path.join(unified, "cgroup.controllers"), "cpu memory pids\n")
    File.write!(Path.join(unified, "cgroup.subtree_control"), "")
    mountinfo = Path.join(root, "mountinfo")
    File.write!(mountinfo, "41 1 0:41 / #{unified} rw - cgroup2 cgroup2 rw\n")
    cgroup = Path.join(root, "cgroup")
    File.write!(cgroup, "0::/\n")

    opts = %{mountinfo: mountinfo, cgroup: cgroup, controllers: [:cpu, :memory]}
    {:ok, group} = Alcove.Cgroup.new(drv, [], ["g"], opts)
    assert File.read!(Path.join(unified, "cgroup.subtree_control")) == "+cpu +memory"
    dir = Path.join(unified, "g")
    assert group.unified == dir
    for f <- ["cpu.max", "memory.max"], do: File.write!(Path.join(dir, f), "")

    assert Alcove.Cgroup.set_limit(drv, [], group, :cpu_max, {25_000, 100_000}) == :ok
    assert File.read!(Path.join(dir, "cpu.max")) == "25000 100000"
    assert Alcove.Cgroup.set_limit(drv, [], group, :"memory.max", :max) == :ok
    assert File.read!(Path.join(dir, "memory.max")) == "max"
    assert Alcove.Cgroup.get_limit(drv, [], group, "memory.max") == {:ok, :max}
    assert Alcove.Cgroup.set_limit(drv, [], group, :pids_max, 1) == {:error, :enotsup}
    # The fake's files stand for processes: not empty until they go.
    assert Alcove.Cgroup.remove(drv, [], group) == {:error, :enotempty}
    for f <- ["cpu.max", "memory.max"], do: File.rm!(Path.join(dir, f))
    assert Alcove.Cgroup.remove(drv, [], group) == :ok
    refute File.dir?(dir)
  end

  @tag skip: unless_root()
  test "pids.max refuses a fork and events count it", %{drv: drv} do
    name = "alcove_exunit_pids_#{System.pid()}"
    {:ok, group} = Alcove.Cgroup.new(drv, [], [name], %{controllers: [:pids]})
    :ok = Alcove.Cgroup.set_limit(drv, [], group, :pids_max, 1)
    {:ok, child} = Alcove.fork(drv, [])
    :ok = Alcove.Cgroup.add_proc(drv, [], group, child)
    assert Alcove.fork(drv, [child]) == {:error, :eagain}
    assert {:ok, %{pids: %{max: refused}}} = Alcove.Cgroup.events(drv, [], group)
    assert refused >= 1
    assert Alcove.Cgroup.remove(drv, [], group, %{kill: true}) == :ok
    refute Enum.any?(Alcove.Cgroup.dirs(group), &File.dir?/1)
  end
end
