# lib/alcove.ex is generated, and the generator runs it through the
# formatter, so it is checked like every other file.
[
  inputs: ["mix.exs", ".formatter.exs", "{lib,test}/**/*.{ex,exs}"]
]
