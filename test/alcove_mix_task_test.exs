defmodule Alcove.MixTaskTest do
  # The compiler task that builds the native code, run against a stand-in
  # build script in a scratch project directory.
  #
  # Not async: the task builds in the current directory, so the test
  # changes it, and that is global to the VM.
  use ExUnit.Case, async: false

  alias Mix.Task.Compiler.Diagnostic
  alias Mix.Tasks.Compile.AlcoveNative

  setup do
    root = Path.join(System.tmp_dir!(), "alcove-mix-task-#{System.unique_integer([:positive])}")
    File.mkdir_p!(Path.join(root, "native/alcove_helper/src"))
    File.write!(Path.join(root, "native/alcove_helper/src/main.rs"), "fn main() {}\n")

    shell = Mix.shell()
    Mix.shell(Mix.Shell.Process)

    on_exit(fn ->
      Mix.shell(shell)
      File.rm_rf!(root)
    end)

    %{root: root}
  end

  defp build_script(root, body) do
    File.write!(Path.join(root, "native/build.sh"), "#!/bin/sh\n" <> body)
    # Sources must look older than what the script installs.
    past = {{2000, 1, 1}, {0, 0, 0}}
    for path <- Path.wildcard(Path.join(root, "native/**")), do: File.touch!(path, past)
  end

  defp run_in(root, args), do: File.cd!(root, fn -> AlcoveNative.run(args) end)

  test "builds, then does nothing until a source changes or --force", %{root: root} do
    build_script(root, """
    mkdir -p priv
    echo built >> build.log
    touch priv/alcove priv/alcove_nif.so
    """)

    assert run_in(root, []) == {:ok, []}
    assert_received {:mix_shell, :info, ["Building native code (native/build.sh)"]}
    assert run_in(root, []) == {:noop, []}
    assert run_in(root, ["--force"]) == {:ok, []}

    File.touch!(Path.join(root, "native/alcove_helper/src/main.rs"), {{2100, 1, 1}, {0, 0, 0}})
    assert run_in(root, []) == {:ok, []}

    assert File.read!(Path.join(root, "build.log")) == "built\nbuilt\nbuilt\n"
  end

  test "a failed build is an error with the script's output", %{root: root} do
    build_script(root, """
    echo "error: could not compile" >&2
    exit 101
    """)

    assert {:error, [%Diagnostic{} = diagnostic]} = run_in(root, [])
    assert diagnostic.severity == :error
    assert diagnostic.compiler_name == "alcove_native"
    assert diagnostic.file == Path.join(root, "native/build.sh")
    assert diagnostic.message =~ "native/build.sh exited with status 101"
    assert diagnostic.message =~ "error: could not compile"
    # Each line was shown as it came, then the status.
    assert_received {:mix_shell, :info, ["error: could not compile"]}
    assert_received {:mix_shell, :error, [message]}
    assert message == "native/build.sh exited with status 101 (its output is above)"
  end

  test "the script's output is shown line by line, a long line whole", %{root: root} do
    long = String.duplicate("x", 10_000)

    build_script(root, """
    echo "alcove: building"
    echo "   Compiling alcove_helper" >&2
    printf '%s\\n' #{long}
    mkdir -p priv && touch priv/alcove priv/alcove_nif.so
    printf 'no newline at the end'
    """)

    assert run_in(root, []) == {:ok, []}
    assert_received {:mix_shell, :info, ["Building native code (native/build.sh)"]}
    assert_received {:mix_shell, :info, ["alcove: building"]}
    assert_received {:mix_shell, :info, ["   Compiling alcove_helper"]}
    assert_received {:mix_shell, :info, [^long]}
    assert_received {:mix_shell, :info, ["no newline at the end"]}
  end

  test "the doc chunks task rebuilds a missing chunk, then has nothing to do" do
    chunk = Path.join([Mix.Project.app_path(), "doc", "chunks", "alcove_caps.chunk"])
    # The project's build made them before the tests ran.
    assert Mix.Tasks.Compile.AlcoveDocs.run([]) == {:noop, []}

    File.rm!(chunk)
    assert Mix.Tasks.Compile.AlcoveDocs.run([]) == {:ok, []}
    assert_received {:mix_shell, :info, ["alcove: doc chunks (edoc) for 1 of " <> _]}
    assert {:docs_v1, _, :erlang, _, _, _, _} = Code.fetch_docs(:alcove_caps)
    assert Mix.Tasks.Compile.AlcoveDocs.run([]) == {:noop, []}
  end

  test "clean removes the installed files", %{root: root} do
    build_script(root, "mkdir -p priv && touch priv/alcove priv/alcove_nif.so\n")
    assert run_in(root, []) == {:ok, []}
    File.cd!(root, fn -> AlcoveNative.clean() end)
    refute File.exists?(Path.join(root, "priv/alcove"))
    refute File.exists?(Path.join(root, "priv/alcove_nif.so"))
  end
end
