defmodule Alcove.DoctestTest do
  # The examples in the docs of Alcove and Alcove.Drv, run as tests.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  # Examples that need root are skipped, with the reason, when not root.
  @needs_root doc_arities(
                Alcove,
                ~w(caps_drop caps_raise caps_set chroot mount pivot_root setgid setgroups
                   sethostname setns setresgid
                   setresuid setuid umount umount2 unshare)a
              )

  doctest Alcove, except: @needs_root
  doctest Alcove, only: @needs_root, tags: [skip: unless_root()]
  doctest Alcove.Drv
end
