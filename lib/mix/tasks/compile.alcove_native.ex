defmodule Mix.Tasks.Compile.AlcoveNative do
  @shortdoc "Builds the alcove helper and NIF with cargo"

  @moduledoc """
  Builds the native half of alcove: the helper binary `priv/alcove` and the
  NIF `priv/alcove_nif.so`.

  It runs `sh native/build.sh`, the same script `rebar3 compile` runs, so
  both build tools produce the same files; cargo runs offline when it can
  and no hex package is needed. The task is the first entry of `compilers:`
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

    case System.cmd("sh", [script], cd: root, stderr_to_stdout: true) do
      {output, 0} ->
        # cargo is quiet on success; whatever it printed is a warning.
        if output != "", do: Mix.shell().info(output)
        ensure_priv_link()
        {:ok, []}

      {output, status} ->
        message = "#{@build_script} exited with status #{status}\n#{output}"
        Mix.shell().error(message)
        {:error, [diagnostic(script, message)]}
    end
  rescue
    # `sh` itself is missing or cannot be started.
    error in ErlangError ->
      message = "cannot run #{@build_script}: #{Exception.message(error)}"
      Mix.shell().error(message)
      {:error, [diagnostic(Path.join(root, @build_script), message)]}
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
