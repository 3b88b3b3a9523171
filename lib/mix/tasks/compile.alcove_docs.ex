defmodule Mix.Tasks.Compile.AlcoveDocs do
  @shortdoc "Builds the EEP-48 doc chunks of alcove's Erlang modules with edoc"

  @moduledoc """
  Builds the documentation chunks of the Erlang modules (`src/*.erl`) with
  edoc, into `doc/chunks/MODULE.chunk` under the application's build
  directory, where `code:get_doc/1` looks: `h(alcove, execvp)` in `erl`
  and `Code.fetch_docs(:alcove)` find them, in this project and in a
  project that has alcove as a dependency. The Elixir modules carry their
  docs in their `.beam` files already.

  It runs `escript native/edoc.escript chunks APP_DIR`, the script the
  rebar3 build runs after compiling, and comes after the Erlang compiler
  in `compilers:` (`mix.exs`). Nothing runs when every chunk is newer than
  the sources, the include files and the script.

  ## Command line options

    * `--force` - build every chunk again

  """

  use Mix.Task.Compiler

  alias Mix.Tasks.Compile.AlcoveNative

  @script "native/edoc.escript"

  @impl Mix.Task.Compiler
  def run(args) do
    {opts, _argv, _invalid} = OptionParser.parse(args, switches: [force: :boolean])
    root = File.cwd!()
    chunks = chunks_dir()

    if opts[:force], do: File.rm_rf!(chunks)

    if stale?(root, chunks) do
      build(root)
    else
      {:noop, []}
    end
  end

  @impl Mix.Task.Compiler
  def manifests, do: []

  @impl Mix.Task.Compiler
  def clean do
    File.rm_rf!(chunks_dir())
    :ok
  end

  defp chunks_dir, do: Path.join([Mix.Project.app_path(), "doc", "chunks"])

  defp build(root) do
    # The script reports a module edoc cannot read and exits 0: the docs
    # never fail a build. A non-zero status is a problem with the script.
    case AlcoveNative.run_streaming("escript", [@script, "chunks", Mix.Project.app_path()], root) do
      {_output, 0} ->
        {:ok, []}

      {output, status} ->
        message = "#{@script} exited with status #{status}\n#{output}"
        Mix.shell().error("#{@script} exited with status #{status} (its output is above)")
        {:error, [diagnostic(Path.join(root, @script), message)]}
    end
  rescue
    # No `escript` in PATH.
    error in ErlangError ->
      message = "cannot run escript #{@script}: #{Exception.message(error)}"
      Mix.shell().error(message)
      {:error, [diagnostic(Path.join(root, @script), message)]}
  end

  defp diagnostic(file, message) do
    %Mix.Task.Compiler.Diagnostic{
      compiler_name: "alcove_docs",
      file: file,
      message: message,
      position: nil,
      severity: :error
    }
  end

  # Per module, as native/edoc.escript decides: a chunk older than its
  # source or than the shared inputs is rebuilt. (One check over all of
  # them at once stayed true for ever once any source changed: the chunks
  # of the other modules are not rebuilt, so they stay older.)
  defp stale?(root, chunks) do
    shared = Path.wildcard(Path.join(root, "include/*.hrl")) ++ [Path.join(root, @script)]

    root
    |> Path.join("src/*.erl")
    |> Path.wildcard()
    |> Enum.any?(fn source ->
      chunk = Path.join(chunks, Path.basename(source, ".erl") <> ".chunk")
      Mix.Utils.stale?([source | shared], [chunk])
    end)
  end
end
