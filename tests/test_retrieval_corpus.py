import json
from pathlib import Path

import pytest

from proofsmith.retrieval.benchmark import Benchmark, BenchmarkError, load_theorems, queries_from
from proofsmith.retrieval.corpus import Corpus, CorpusError

FIXTURE = Path(__file__).parent / "fixtures" / "retrieval"


@pytest.fixture(scope="module")
def corpus():
    return Corpus.load(FIXTURE / "corpus.jsonl")


def names(corpus, mask):
    return {corpus.premises[i].full_name for i in mask.nonzero()[0]}


def test_imports_are_transitive_and_only_imports(corpus):
    assert set(corpus.imported_files("Lists/List.v")) == {"Init/Nat.v", "Init/Logic.v"}
    assert set(corpus.imported_files("Arith/Even.v")) == {
        "Arith/PeanoNat.v", "Bool/Bool.v", "Init/Nat.v", "Init/Logic.v"
    }
    assert corpus.imported_files("Init/Logic.v") == []


def test_accessibility_by_hand(corpus):
    app_assoc = corpus.by_name["Coq.Lists.List.app_assoc"]
    seen = names(corpus, corpus.accessible_mask(app_assoc.path, app_assoc.start))
    # imported transitively (Init/Logic.v through Init/Nat.v)
    assert {"Init.Logic.eq_sym", "Init.Nat.plus_n_O"} <= seen
    # earlier in the same file
    assert {"Init.Datatypes.list", "Coq.Lists.List.app_nil_r"} <= seen
    # itself, later in the same file, and files List.v does not require
    assert "Coq.Lists.List.app_assoc" not in seen
    assert "Coq.Lists.List.rev_involutive" not in seen
    assert not seen & {"Coq.Bool.Bool.negb_involutive", "Coq.Arith.PeanoNat.Nat.add_comm"}
    first = corpus.file_premises("Init/Logic.v")[0]
    assert not corpus.accessible_mask(first.path, first.start).any()


def test_save_and_reload_keeps_content(corpus, tmp_path):
    corpus.save(tmp_path / "corpus.jsonl")
    again = Corpus.load(tmp_path)
    assert again.content_hash == corpus.content_hash
    assert [p.full_name for p in again.premises] == [p.full_name for p in corpus.premises]


def write_corpus(path, files):
    path.write_text("".join(json.dumps(f) + "\n" for f in files))
    return path


def premise(name, line):
    return {"full_name": name, "code": f"Lemma {name} : True.", "start": [line, 1], "end": [line, 20]}


def test_import_cycle_is_an_error_naming_a_file(tmp_path):
    path = write_corpus(tmp_path / "c.jsonl", [
        {"path": "A.v", "imports": ["B.v"], "premises": [premise("a", 1)]},
        {"path": "B.v", "imports": ["A.v"], "premises": [premise("b", 1)]},
    ])
    with pytest.raises(CorpusError, match=r"import cycle through '(A|B)\.v'"):
        Corpus.load(path)


def test_bad_lines_are_named(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"path": "A.v", "imports": [], "premises": [premise("a", 1)]}) + "\n{oops\n")
    with pytest.raises(CorpusError, match=r"c\.jsonl:2:2: not valid JSON"):
        Corpus.load(path)
    write_corpus(path, [{"path": "A.v", "imports": [], "premises": [{**premise("a", 1), "start": [1]}]}])
    with pytest.raises(CorpusError, match=r"A\.v, premise 0\) start: position must be \[line, column\]"):
        Corpus.load(path)
    with pytest.raises(CorpusError, match="no such corpus file"):
        Corpus.load(tmp_path / "missing.jsonl")


def test_ill_formed_premises_are_skipped_and_unknown_imports_ignored(tmp_path):
    path = write_corpus(tmp_path / "c.jsonl", [
        {"path": "A.v", "imports": ["Gone.v"], "premises": [
            premise("a", 1), {**premise("b", 3), "code": ""}, {**premise("[m1, m2]", 5)},
        ]},
    ])
    corpus = Corpus.load(path)
    assert [p.full_name for p in corpus.premises] == ["a"]
    assert corpus.skipped == 2
    assert corpus.unknown_imports == {"A.v": ["Gone.v"]}


def test_queries_resolve_positives_by_definition_site():
    bench = Benchmark(FIXTURE)
    queries = bench.queries("random", "train")
    thm = next(t for t in bench.theorems("random", "train") if t.full_name == "Coq.Lists.List.rev_app_distr")
    q = [q for q in queries if q.theorem == thm.full_name]
    assert len(q) == len(thm.traced_tactics) == 3
    assert {bench.corpus.premises[i].full_name for i in q[1].positives} == {"Coq.Lists.List.app_nil_r"}
    assert q[0].state.endswith("rev (x ++ y) = rev y ++ rev x")


def test_inaccessible_or_unknown_provenances_are_dropped(tmp_path):
    corpus = Corpus.load(FIXTURE / "corpus.jsonl")
    theorems = load_theorems(FIXTURE / "random" / "train.json")
    thm = next(t for t in theorems if t.full_name == "Coq.Lists.List.app_nil_r")
    raw = json.loads((FIXTURE / "random" / "train.json").read_text())
    rec = next(r for r in raw if r["full_name"] == thm.full_name)
    rec["traced_tactics"][0]["annotated_tactic"][1] = [
        {"full_name": "Coq.Bool.Bool.negb_involutive"},  # Bool.v is not required by List.v
        {"full_name": "No.Such.lemma"},
        {"full_name": "Init.Datatypes.list"},
    ]
    (tmp_path / "t.json").write_text(json.dumps([rec]))
    [first, *_] = queries_from(corpus, load_theorems(tmp_path / "t.json"))
    assert first.positives == {corpus.by_name["Init.Datatypes.list"].id}


def test_benchmark_errors_name_the_input(tmp_path):
    with pytest.raises(BenchmarkError, match="no such benchmark directory"):
        Benchmark(tmp_path / "nope")
    bench = Benchmark(FIXTURE)
    with pytest.raises(BenchmarkError, match="unknown split 'odd'"):
        bench.theorems("odd", "test")
    theorem = {"url": "", "commit": "", "file_path": "A.v", "full_name": "t", "start": [1, 1], "end": [1, 9],
               "traced_tactics": [{"tactic": "auto.", "annotated_tactic": ["auto.", []], "state_after": ""}]}
    (tmp_path / "bad.json").write_text(json.dumps([theorem]))
    with pytest.raises(BenchmarkError, match=r"bad\.json: field '\[0\]\.traced_tactics\[0\]\.state_before': missing or not a string"):
        load_theorems(tmp_path / "bad.json")


def test_premises_sharing_a_span_resolve_by_name():
    span = {"start": [1, 1], "end": [1, 50]}
    corpus = Corpus([{"path": "A.v", "imports": [], "premises": [
        {"full_name": "A.nat", "code": "Inductive nat := O | S (n : nat).", **span},
        {"full_name": "A.O", "code": "O : nat", **span, "kind": "Constructor"},
        {"full_name": "A.S", "code": "S : nat -> nat", **span, "kind": "Constructor"},
    ]}])
    assert corpus.resolve("A.S", "A.v", (1, 1)).full_name == "A.S"
    # a name the corpus does not know falls back to the definition site
    assert corpus.resolve("Renamed.thing", "A.v", (1, 10)).full_name == "A.nat"
    assert corpus.resolve("Nope", None, None) is None


def test_a_leandojo_lean_benchmark_loads_through_the_same_pipeline():
    # the hand-written LeanDojo Benchmark 4 fixture of the eval loader's tests
    bench = Benchmark(Path(__file__).parent / "fixtures" / "leandojo_benchmark_4")
    [query] = bench.queries("random", "test")
    assert query.state == "n m k : Nat\n⊢ n + m + k = n + k + m"
    # Nat.add_assoc lives in Lean core, outside this corpus: dropped, not guessed
    assert {bench.corpus.premises[i].full_name for i in query.positives} == {"TinyLib.Nat.add_comm'"}
    mask = bench.corpus.accessible_mask(query.file_path, query.pos)
    assert names(bench.corpus, mask) == {
        "TinyLib.Nat.add_zero'", "TinyLib.Nat.zero_add'", "TinyLib.Nat.succ_add'", "TinyLib.Nat.add_comm'"
    }
