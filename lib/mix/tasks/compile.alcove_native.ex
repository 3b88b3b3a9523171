defmodule Mix.Tasks.Compile.AlcoveNative do
  @shortdoc "Builds the alcove helper and NIF with cargo"

  @moduledoc """
  Builds the native half of alcove: the helper binary `priv/alcove` and the
  NIF `priv/alcove_nif.so`.

  It runs `sh native/build.sh`, the same script `rebar3 compile` runs, so
  both build tools produce the same files; cargo runs offline when it can
  and no hex package is needed. The script's output (cargo's progress, or
  why the installed cargo cannot build alcove) is shown as it comes. The task is the first entry of `compilers:`
  in `mix.exs`, so the NIF is in `priv/` before `src/alcove_nif.erl` is
  compiled and loaded.

  Nothing runs when both files are newer than every Rust source, manifest
  and the build script. `_build/ENV/lib/alcove/priv` is a symlink to
  `priv/`, which is how `code:priv_dir(alcove)` finds the NIF under Mix.

  ## Command line options

    * `--force` - run the build even when the files look up to date

  """

  use Mix.Task.Compiler

  @build_script "native/build.sh"
  @targets ["priv/alcove", "priv/alcove_nif.so"]

  @impl Mix.Task.Compiler
  def run(args) do
    {opts, _argv, _invalid} = OptionParser.parse(args, switches: [force: :boolean])
    root = File.cwd!()

    if opts[:force] || stale?(root) do
      build(root)
    else
      ensure_priv_link()
      {:noop, []}
    end
  end

  @impl Mix.Task.Compiler
  def manifests, do: []

  @impl Mix.Task.Compiler
  def clean do
    Enum.each(@targets, &File.rm/1)
  end

  defp build(root) do
    script = Path.join(root, @build_script)
    Mix.shell().info("Building native code (#{@build_script})")

    case run_streaming("sh", [script], root) do
      {_output, 0} ->
        ensure_priv_link()
        {:ok, []}

      {output, status} ->
        # The output went by line by line; the diagnostic keeps all of it.
        Mix.shell().error("#{@build_script} exited with status #{status} (its output is above)")
        message = "#{@build_script} exited with status #{status}\n#{output}"
        {:error, [diagnostic(script, message)]}
    end
  rescue
    # `sh` itself is missing or cannot be started.
    error in ErlangError ->
      message = "cannot run #{@build_script}: #{Exception.message(error)}"
      Mix.shell().error(message)
      {:error, [diagnostic(Path.join(root, @build_script), message)]}
  end

  @doc false
  # Runs `program` with `args` in `dir`, passing each line of its output
  # (stdout and stderr) to the Mix shell as it comes, so that a build of a
  # minute shows its progress. Returns the whole output and the exit status.
  # Also used by Mix.Tasks.Compile.AlcoveDocs.
  @spec run_streaming(String.t(), [String.t()], Path.t()) :: {String.t(), non_neg_integer()}
  def run_streaming(program, args, dir) do
    executable =
      System.find_executable(program) ||
        :erlang.error(:enoent)

    port =
      Port.open({:spawn_executable, executable}, [
        :binary,
        :exit_status,
        :eof,
        :stderr_to_stdout,
        {:line, 4096},
        args: args,
        cd: dir
      ])

    collect(port, [], [])
  end

  # A line longer than the port's line buffer arrives in :noeol pieces, as
  # does a last line without a newline. With :eof the port stays open
  # after the output ends, so that the last piece is in before the status.
  defp collect(port, partial, lines, status \\ nil) do
    receive do
      {^port, {:data, {:noeol, piece}}} ->
        collect(port, [partial | piece], lines, status)

      {^port, {:data, {:eol, piece}}} ->
        line = IO.iodata_to_binary([partial | piece])
        Mix.shell().info(line)
        collect(port, [], [line | lines], status)

      {^port, :eof} ->
        lines =
          case IO.iodata_to_binary(partial) do
            "" ->
              lines

            last ->
              Mix.shell().info(last)
              [last | lines]
          end

        {lines |> Enum.reverse() |> Enum.join("\n"), wait_status(port, status)}

      {^port, {:exit_status, status}} ->
        collect(port, partial, lines, status)
    end
  end

  defp wait_status(port, nil) do
    receive do
      {^port, {:exit_status, status}} -> wait_status(port, status)
    end
  end

  defp wait_status(port, status) do
    if Port.info(port), do: Port.close(port)
    status
  end

  defp diagnostic(file, message) do
    %Mix.Task.Compiler.Diagnostic{
      compiler_name: "alcove_native",
      file: file,
      message: message,
      position: nil,
      severity: :error
    }
  end

  defp stale?(root) do
    sources =
      [@build_script, "Cargo.toml", "Cargo.lock", "native/*/Cargo.toml", "native/*/src/**/*"]
      |> Enum.flat_map(&Path.wildcard(Path.join(root, &1)))

    Mix.Utils.stale?(sources, Enum.map(@targets, &Path.join(root, &1)))
  end

  # Mix links `_build/ENV/lib/alcove/priv` to `priv/` only if `priv/`
  # existed when the build started, which it does not in a fresh checkout.
  defp ensure_priv_link do
    unless File.exists?(Path.join(Mix.Project.app_path(), "priv")) do
      Mix.Project.build_structure()
    end

    :ok
  end
end
