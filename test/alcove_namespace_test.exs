defmodule Alcove.NamespaceTest do
  # Namespaces and credentials: what containers are built from. All of it
  # needs root.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  @moduletag skip: unless_root()

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    %{drv: drv}
  end

  # Everything a process writes to stdout, up to its exit event.
  defp output(drv, pipeline, acc \\ "") do
    receive do
      {:alcove_stdout, ^drv, ^pipeline, data} -> output(drv, pipeline, acc <> data)
      {:alcove_event, ^drv, ^pipeline, {:exit_status, 0}} -> acc
    after
      10_000 -> flunk("no exit for #{inspect(pipeline)}; output so far: #{inspect(acc)}")
    end
  end

  test "a new PID namespace: the child is pid 1 inside", %{drv: drv} do
    {:ok, child} = Alcove.clone(drv, [], [:clone_newpid])
    assert Alcove.getpid(drv, [child]) == 1
    # Its own children count from there.
    {:ok, grandchild} = Alcove.fork(drv, [child])
    assert Alcove.getpid(drv, [child, grandchild]) == grandchild
    assert grandchild < 100
  end

  test "a new UTS namespace keeps the hostname change to itself", %{drv: drv} do
    {:ok, host} = Alcove.gethostname(drv, [])
    {:ok, child} = Alcove.clone(drv, [], [:clone_newuts])
    assert Alcove.sethostname(drv, [child], "alcove-ns-test") == :ok
    assert Alcove.gethostname(drv, [child]) == {:ok, "alcove-ns-test"}
    assert Alcove.gethostname(drv, []) == {:ok, host}
    # A program exec'd there sees it too.
    :ok = Alcove.execvp(drv, [child], "cat", ["cat", "/proc/sys/kernel/hostname"])
    assert output(drv, [child]) == "alcove-ns-test\n"
  end

  test "a new mount namespace keeps its mounts to itself", %{drv: drv} do
    dir = Path.join(System.tmp_dir!(), "alcove-ns-mount-#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)

    {:ok, child} = Alcove.clone(drv, [], [:clone_newns])
    :ok = Alcove.mount(drv, [child], "none", "/", "", [:ms_rec, :ms_private], "", "")
    assert Alcove.mount(drv, [child], "tmpfs", dir, "tmpfs", [:ms_nosuid], "size=1m", "") == :ok

    {:ok, fd} = Alcove.open(drv, [child], Path.join(dir, "inside"), [:o_wronly, :o_creat], 0o600)

    assert Alcove.write(drv, [child], fd, "in the namespace") == {:ok, 16}

    # The host sees the empty directory under the mount.
    assert File.ls!(dir) == []
    {:ok, entries} = Alcove.readdir(drv, [child], dir)
    assert "inside" in entries
  end

  test "dropping privileges before exec", %{drv: drv} do
    {:ok, child} = Alcove.fork(drv, [])
    assert Alcove.setgroups(drv, [child], []) == :ok
    assert Alcove.setresgid(drv, [child], 65534, 65534, 65534) == :ok
    assert Alcove.setresuid(drv, [child], 65534, 65534, 65534) == :ok
    # No way back.
    assert Alcove.setuid(drv, [child], 0) == {:error, :eperm}

    :ok = Alcove.execvp(drv, [child], "id", ["id", "-u"])
    assert output(drv, [child]) == "65534\n"
  end

  test "a container in a few calls: new namespaces, chroot, exec", %{drv: drv} do
    root = Path.join(System.tmp_dir!(), "alcove-ns-root-#{System.unique_integer([:positive])}")
    File.mkdir_p!(root)
    on_exit(fn -> File.rm_rf!(root) end)
    # The programs come from the host: bind mount its /usr and friends.
    binds = for dir <- ~w(bin lib lib64 usr), File.dir?("/" <> dir), do: dir

    {:ok, child} = Alcove.clone(drv, [], [:clone_newns, :clone_newpid, :clone_newuts])
    :ok = Alcove.mount(drv, [child], "none", "/", "", [:ms_rec, :ms_private], "", "")
    :ok = Alcove.mount(drv, [child], "tmpfs", root, "tmpfs", [], "size=4m", "")

    for dir <- binds do
      target = Path.join(root, dir)
      :ok = Alcove.mkdir(drv, [child], target, 0o755)
      source = "/" <> dir
      :ok = Alcove.mount(drv, [child], source, target, "", [:ms_bind, :ms_rec], "", "")
    end

    :ok = Alcove.sethostname(drv, [child], "alcove-box")
    :ok = Alcove.chroot(drv, [child], root)
    :ok = Alcove.chdir(drv, [child], "/")

    assert Alcove.gethostname(drv, [child]) == {:ok, "alcove-box"}
    :ok = Alcove.execvp(drv, [child], "/bin/sh", ["sh", "-c", "echo $$; ls /"])

    # The shell is pid 1 of its PID namespace and sees only the new root.
    [pid | listing] = output(drv, [child]) |> String.split("\n", trim: true)
    assert pid == "1"
    assert Enum.sort(listing) == Enum.sort(binds)
  end
end
