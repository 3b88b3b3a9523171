defmodule Alcove.DoctestTest do
  # The examples in the docs of Alcove and Alcove.Drv, run as tests.
  use ExUnit.Case, async: true

  # sethostname's example needs root (a new UTS namespace).
  doctest Alcove, except: [sethostname: 4]
  doctest Alcove, only: [sethostname: 4], tags: [skip: Alcove.TestHelper.unless_root()]
  doctest Alcove.Drv
end
