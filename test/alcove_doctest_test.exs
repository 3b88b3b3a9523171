defmodule Alcove.DoctestTest do
  # The examples in the docs of Alcove and Alcove.Drv, run as tests.
  use ExUnit.Case, async: true

  import Alcove.TestHelper

  # Examples that need root, or calls the helper does not have yet, are
  # skipped with the reason.
  @needs_root [sethostname: 4]
  @needs_constants [define: 3]

  doctest Alcove, except: @needs_root ++ @needs_constants
  doctest Alcove, only: @needs_root, tags: [skip: unless_root()]

  doctest Alcove,
    only: @needs_constants,
    tags: [
      skip: unless_implemented("the *_constant calls", &Alcove.signal_constant(&1, [], :sigkill))
    ]

  doctest Alcove.Drv
end
