defmodule Alcove.UsernsTest do
  # Alcove.Userns: its doc examples, the map checks, and an unprivileged
  # parent (a helper dropped from root to an unused uid) mapping itself.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  @restricted (case Alcove.Userns.restrictions() do
                 [] -> false
                 r -> "unprivileged user namespaces are restricted: #{inspect(r)}"
               end)

  # clone/4 and map/4 map the caller's own ids: what an unprivileged
  # user may do, so they run as any user the kernel allows.
  doctest Alcove.Userns, only: [clone: 4, map: 4], tags: [skip: @restricted]
  doctest Alcove.Userns, except: [clone: 4, map: 4]

  defp status_ids(pid) do
    lines = File.read!("/proc/#{pid}/status") |> String.split("\n")

    for field <- ["Uid:", "Gid:"] do
      lines
      |> Enum.find(&String.starts_with?(&1, field))
      |> String.split()
      |> Enum.at(1)
      |> String.to_integer()
    end
  end

  test "bad maps and options are refused before anything is cloned" do
    {:ok, drv} = Alcove.Drv.start_link()
    assert Alcove.Userns.clone(drv, [], [], uid_map: []) == {:error, {:uid_map, :empty}}

    assert Alcove.Userns.clone(drv, [], [], gid_map: [{0, 1}]) ==
             {:error, {:gid_map, {:not_a_range, {0, 1}}}}

    assert Alcove.Userns.clone(drv, [], [], setgroups: :yes) ==
             {:error, {:setgroups, {:bad_value, :yes}}}

    assert Alcove.Userns.clone(drv, [], [], users: []) == {:error, {:bad_option, :users}}
    assert Alcove.cpid(drv, []) == []
    assert Alcove.Userns.validate([{0, 0, 0}]) == {:error, {:not_a_range, {0, 0, 0}}}

    assert Alcove.Userns.validate([{0, 10, 5}, {7, 12, 1}]) ==
             {:error, {:overlap, :outside, {0, 10, 5}, {7, 12, 1}}}

    Alcove.Drv.stop(drv)
  end

  @tag skip: unless_root() || @restricted
  test "an unprivileged parent: root inside, itself outside, setgroups first" do
    {:ok, drv} = Alcove.Drv.start_link()
    id = 300_000 + :rand.uniform(100_000)
    {:ok, parent} = Alcove.fork(drv, [])
    :ok = Alcove.setgroups(drv, [parent], [])
    :ok = Alcove.setresgid(drv, [parent], id, id, id)
    :ok = Alcove.setresuid(drv, [parent], id, id, id)
    # Its uid changed: dumpable again, or its clones' /proc files are root's.
    {:ok, _, _, _, _, _} = Alcove.prctl(drv, [parent], :pr_set_dumpable, 1, 0, 0, 0)

    {:ok, child} = Alcove.clone(drv, [parent], [:clone_newuser])
    assert Alcove.getuid(drv, [parent, child]) == 65534
    # Another uid, or a gid map while setgroups is allowed: refused.
    assert Alcove.Userns.map(drv, [parent], child, uid_map: [{0, 0, 1}]) ==
             {:error, {:uid_map, :eperm}}

    assert Alcove.Userns.map(drv, [parent], child, gid_map: [{0, id, 1}]) ==
             {:error, {:gid_map, :eperm}}

    assert Alcove.Userns.map(drv, [parent], child,
             gid_map: [{0, id, 1}],
             uid_map: [{0, id, 1}],
             setgroups: :deny
           ) == :ok

    assert {Alcove.getuid(drv, [parent, child]), Alcove.getgid(drv, [parent, child])} == {0, 0}
    assert status_ids(child) == [id, id]

    {:ok, other} = Alcove.Userns.clone(drv, [parent], [:clone_newuts], %{})
    assert Alcove.getuid(drv, [parent, other]) == 0
    assert status_ids(other) == [id, id]
    assert Alcove.sethostname(drv, [parent, other], "userns-test") == :ok
    Alcove.Drv.stop(drv)
  end
end
