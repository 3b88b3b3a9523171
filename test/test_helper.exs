defmodule Alcove.TestHelper do
  @moduledoc false

  require Alcove

  # Helpers shared by the ExUnit files. Every test runs real OS processes
  # under its own driver; nothing is mocked.

  @doc "Whether the VM runs with effective uid 0."
  @spec root?() :: boolean()
  def root? do
    # "Uid:\treal\teffective\tsaved\tfs"
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "Uid:" <> ids -> ids |> String.split() |> Enum.at(1) == "0"
      _ -> nil
    end)
  end

  @doc "A skip reason for `@tag skip: ...` when not root, `false` as root."
  @spec unless_root() :: false | String.t()
  def unless_root do
    if root?(), do: false, else: "needs root (CI runs the suite as root)"
  end

  @doc "The `{name, arity}` of the documented (longest) form of each function."
  @spec doc_arities(module(), [atom()]) :: [{atom(), arity()}]
  def doc_arities(module, names) do
    for name <- names,
        arity = module.__info__(:functions) |> Keyword.get_values(name) |> Enum.max(),
        do: {name, arity}
  end

  @doc """
  Whether an OS process exists (zombies included: one that was not reaped
  is still there).
  """
  @spec os_process?(integer()) :: boolean()
  def os_process?(pid), do: File.exists?("/proc/#{pid}")

  @doc "Polls `fun` every 10 ms until it returns true; false after `timeout` ms."
  @spec eventually((() -> boolean()), non_neg_integer()) :: boolean()
  def eventually(fun, timeout \\ 5000) do
    cond do
      fun.() ->
        true

      timeout <= 0 ->
        false

      true ->
        Process.sleep(10)
        eventually(fun, timeout - 10)
    end
  end

  @doc "Every OS pid in the helper tree of `drv`, root helper first."
  @spec tree(Alcove.drv()) :: [integer()]
  def tree(drv), do: [Alcove.getpid(drv, []) | subtree(drv, [])]

  defp subtree(drv, pipeline) do
    Enum.flat_map(Alcove.cpid(drv, pipeline), fn process ->
      pid = Alcove.alcove_pid(process, :pid)
      # A child that exec'd (fdctl -2) runs another program: no calls there.
      if Alcove.alcove_pid(process, :fdctl) == -2,
        do: [pid],
        else: [pid | subtree(drv, pipeline ++ [pid])]
    end)
  end
end

# alcove itself does not use Logger; the tests start it so that
# `@moduletag :capture_log` can keep expected crash reports out of the output.
{:ok, _} = Application.ensure_all_started(:logger)
ExUnit.start()
