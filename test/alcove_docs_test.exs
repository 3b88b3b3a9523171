defmodule Alcove.DocsTest do
  # The Erlang modules' doc chunks, built by the project's Mix compiler
  # (Mix.Tasks.Compile.AlcoveDocs) into the build directory, where
  # code:get_doc/1 finds them.
  use ExUnit.Case, async: true

  @erlang_modules "src/*.erl"
                  |> Path.wildcard()
                  |> Enum.map(&(&1 |> Path.basename(".erl") |> String.to_atom()))

  test "every Erlang module has a doc chunk in the build directory" do
    assert length(@erlang_modules) > 5

    for module <- @erlang_modules do
      assert {:docs_v1, _, :erlang, _, _, _, _} = Code.fetch_docs(module), inspect(module)
    end
  end

  test ":alcove's chunk documents execvp/4 from its edoc line" do
    chunk = Path.join([:code.lib_dir(:alcove), "doc", "chunks", "alcove.chunk"])
    assert File.regular?(chunk)

    assert {:docs_v1, _, :erlang, "application/erlang+html", %{"en" => _}, _, docs} =
             Code.fetch_docs(:alcove)

    assert {_, _, _, %{"en" => doc}, %{signature: [_]}} =
             List.keyfind(docs, {:function, :execvp, 4}, 0)

    assert doc |> List.flatten() |> Enum.join() =~ "execvp(3): Replace the process image"
  end

  test "the type docs sit on their own types" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(:alcove)
    assert {_, _, _, %{"en" => doc}, _} = List.keyfind(docs, {:type, :caps_name, 0}, 0)
    assert Enum.join(doc) =~ "A capability, named as in capabilities(7)"
  end
end
