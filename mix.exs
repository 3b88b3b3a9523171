# The native code (the helper binary and the NIF) is built by the project's
# own compiler task, which must exist before `lib/` is compiled: it is
# loaded from here, so `mix compile` works from a clean checkout (and as a
# dependency) without any hex package (no rustler, no elixir_make). It is
# left out of `elixirc_paths`: compiling it again would redefine the module.
unless Code.ensure_loaded?(Mix.Tasks.Compile.AlcoveNative) do
  Code.require_file("lib/mix/tasks/compile.alcove_native.ex", __DIR__)
end

# The doc chunks of the Erlang modules (edoc), after the Erlang compiler.
unless Code.ensure_loaded?(Mix.Tasks.Compile.AlcoveDocs) do
  Code.require_file("lib/mix/tasks/compile.alcove_docs.ex", __DIR__)
end

defmodule Alcove.MixProject do
  use Mix.Project

  def project do
    [
      app: :alcove,
      version: "0.1.0",
      elixir: "~> 1.14",
      elixirc_paths: ["lib/alcove.ex", "lib/alcove"],
      erlc_paths: ["src"],
      erlc_include_path: "include",
      erlc_options: [:debug_info, :warnings_as_errors],
      compilers: [:alcove_native] ++ Mix.compilers() ++ [:alcove_docs],
      test_paths: ["test"],
      start_permanent: Mix.env() == :prod,
      deps: []
    ]
  end

  def application do
    [extra_applications: []]
  end
end
