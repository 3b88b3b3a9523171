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

  @description "Control plane for Unix processes: fork, namespaces, syscalls and exec from the BEAM"

  # What a consumer's build needs, and the only list of it: src/alcove.app.src
  # repeats it for rebar3 (make package-check fails if the two differ, or if
  # a project using exactly these files as a dependency does not build).
  # cargo needs every workspace member, alcove_subreaper included; gen/ is
  # not needed (the generated files are in src/ and lib/); the Makefile is
  # there for `make install-setuid` from the dependency's directory.
  @files ~w(
    src include lib
    native/build.sh native/edoc.escript
    native/alcove_proto/Cargo.toml native/alcove_proto/src
    native/alcove_helper/Cargo.toml native/alcove_helper/src
    native/alcove_nif/Cargo.toml native/alcove_nif/src
    native/alcove_subreaper/Cargo.toml native/alcove_subreaper/src
    Cargo.toml Cargo.lock rebar.config rebar.lock mix.exs
    README.md LICENSE CHANGELOG.md Makefile
  )

  def project do
    [
      app: :alcove,
      version: "0.1.0",
      description: @description,
      package: package(),
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

  defp package do
    [
      licenses: ["ISC"],
      # The project has no public address yet (no remote, none in the
      # README): add its repository here and in src/alcove.app.src.
      links: %{},
      files: @files
    ]
  end
end
