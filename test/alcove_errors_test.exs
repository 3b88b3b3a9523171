defmodule Alcove.ErrorsTest do
  # What Elixir shows for alcove's errors: the ArgumentError of a bad
  # argument names the call and the argument (from the error information
  # the Erlang side attaches), calls of another OS name the OS, start
  # errors name their cause.
  use ExUnit.Case, async: true

  setup do
    {:ok, drv} = Alcove.Drv.start_link()
    %{drv: drv}
  end

  # The exception Elixir makes of what `fun` raises, with its message.
  defp raised(fun) do
    try do
      fun.()
      flunk("nothing raised")
    catch
      kind, reason ->
        exception = Exception.normalize(kind, reason, __STACKTRACE__)
        {reason, exception, Exception.message(exception)}
    end
  end

  test "a bad argument: ArgumentError naming the call and the argument", %{drv: drv} do
    {reason, exception, message} = raised(fn -> :alcove.chdir(drv, [], 123) end)
    assert reason == :badarg
    assert %ArgumentError{} = exception
    assert message =~ "3rd argument: Path of alcove:chdir/3 must be iodata"
    refute message =~ "1st argument"
  end

  test "the Elixir API raises the same", %{drv: drv} do
    assert_raise ArgumentError,
                 ~r"3rd argument: User of alcove:setuid/3 must be an integer",
                 fn ->
                   Alcove.setuid(drv, [], -1)
                 end

    assert_raise ArgumentError,
                 ~r"4th argument: Signal of alcove:kill/4 must be a constant",
                 fn ->
                   Alcove.kill(drv, [], 0, "sigterm")
                 end
  end

  test "an argument the helper refuses: the call is named", %{drv: drv} do
    {:badarg, %ArgumentError{}, message} =
      raised(fn -> Alcove.alloc(drv, [], [{:ptr, 1_099_511_627_776}]) end)

    assert message =~ "alcove:alloc/3: the helper refused an argument"
  end

  test "a pid that is no driver" do
    {:badarg, %ArgumentError{}, message} = raised(fn -> Alcove.getcwd(self(), []) end)
    assert message =~ "1st argument: Drv is not an alcove driver"
  end

  test "a stopped driver: closed, explained" do
    {:ok, drv} = Alcove.Drv.start()
    :ok = Alcove.Drv.stop(drv)
    {:closed, %ErlangError{original: :closed}, message} = raised(fn -> Alcove.getpid(drv, []) end)
    assert message =~ "the driver of alcove:getpid/2 is stopped"
  end

  test "a call of another OS names the OS", %{drv: drv} do
    assert_raise UndefinedFunctionError,
                 "function :alcove.pledge/4 is not available on Linux (OpenBSD only)",
                 fn -> Alcove.pledge(drv, [], "stdio", "") end

    assert_raise UndefinedFunctionError,
                 "function :alcove.jail_attach/4 is not available on Linux (FreeBSD only)",
                 fn -> Alcove.jail_attach(drv, [], 1, 1000) end
  end

  test "unknown constants keep the original's answers", %{drv: drv} do
    assert Alcove.kill(drv, [], 0, :sigbogus) == {:error, :enotsup}
    assert Alcove.signal_constant(drv, [], :sigbogus) == :unknown
  end

  test "start errors name their cause" do
    assert Alcove.Drv.start_link(progname: "/nonexistent/alcove") ==
             {:error, {:enoent, ~c"/nonexistent/alcove"}}

    assert Alcove.Drv.start_link(exec: "alcove-no-such-sudo -n") ==
             {:error, {:exec, ~c"alcove-no-such-sudo -n", :enoent}}

    assert Alcove.Drv.start_link(exec: "false") == {:error, {:exec, ~c"false", {:exit_status, 1}}}
  end
end
