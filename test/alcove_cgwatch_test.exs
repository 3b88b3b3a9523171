defmodule Alcove.CgwatchTest do
  # Cgroup event watches and clone_into from Elixir: a fake tree of
  # regular files anywhere, a real cgroup v2 group as root.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    name = "alcove-cgwatch-ex-#{System.unique_integer([:positive])}"
    dir = Path.join(System.tmp_dir!(), name)
    File.mkdir_p!(dir)

    on_exit(fn ->
      File.rm_rf!(dir)
    end)

    %{drv: drv, dir: dir, name: name}
  end

  # The mount point of the cgroup v2 hierarchy, or nil.
  @v2_root "/proc/self/mountinfo"
           |> File.read!()
           |> String.split("\n", trim: true)
           |> Enum.find_value(fn line ->
             [left, right] = String.split(line, " - ", parts: 2)
             if hd(String.split(right)) == "cgroup2", do: Enum.at(String.split(left), 4)
           end)

  test "a watched fake tree's changes come to the owner of the watching helper", %{
    drv: drv,
    dir: dir
  } do
    File.write!(Path.join(dir, "memory.events"), "oom 0\noom_kill 0\n")
    {:ok, child} = Alcove.fork(drv, [])
    assert {:ok, watch} = Alcove.cgroup_watch(drv, [child], dir)
    File.write!(Path.join(dir, "memory.events"), "oom 0\noom_kill 3\n")
    assert_receive {:alcove_event, ^drv, [^child], {:cgroup, {:oom_kill, ^dir, 3}}}, 5000
    assert Alcove.cgroup_unwatch(drv, [child], watch) == :ok
    assert Alcove.cgroup_unwatch(drv, [child], watch) == {:error, :einval}
    assert Alcove.cgroup_watch(drv, [child], Path.join(dir, "none")) == {:error, :enoent}
  end

  @tag skip: unless_root() || (is_nil(@v2_root) && "no cgroup v2 hierarchy mounted")
  test "clone_into puts the child in a v2 group and a watch sees it leave", %{
    drv: drv,
    name: name
  } do
    group = Path.join(@v2_root, name)
    :ok = File.mkdir(group)

    on_exit(fn ->
      File.write(Path.join(group, "cgroup.kill"), "1")
      assert eventually(fn -> File.rmdir(group) in [:ok, {:error, :enoent}] end)
    end)

    {:ok, _} = Alcove.cgroup_watch(drv, [], group)
    {:ok, child} = Alcove.clone_into(drv, [], [], group)
    assert File.read!(Path.join(group, "cgroup.procs")) == "#{child}\n"
    assert_receive {:alcove_event, ^drv, [], {:cgroup, {:populated, ^group, true}}}, 5000
    assert Alcove.exit(drv, [child], 0) == :ok
    assert_receive {:alcove_event, ^drv, [^child], {:exit_status, 0}}, 5000
    assert_receive {:alcove_event, ^drv, [], {:cgroup, {:populated, ^group, false}}}, 5000
  end
end
