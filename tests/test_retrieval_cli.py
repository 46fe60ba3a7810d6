"""The retrieval subcommands end to end on the fixture library (real MiniLM, real FAISS)."""

import json
from pathlib import Path

import pytest

from proofsmith.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "retrieval"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_RETRIEVAL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "emb"))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("idx")
    mp = pytest.MonkeyPatch()
    mp.setenv("PROOFSMITH_RETRIEVAL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "emb"))
    try:
        assert main(["index", "build", str(FIXTURE), "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


def test_index_build_writes_both_indexes_and_the_corpus(index_dir):
    assert {p.name for p in index_dir.iterdir()} == {"corpus.jsonl", "exact.faiss", "approx.faiss", "meta.json"}
    meta = json.loads((index_dir / "meta.json").read_text())
    assert meta["premises"] == 54 and meta["approx"] == "hnsw" and meta["encoder"]["name"] == "all-MiniLM-L6-v2"


def test_retrieve_honours_the_theorem(index_dir, capsys):
    goal = "l : list nat\n============================\nrev (rev l) = l"
    assert main(["retrieve", goal, "--index", str(index_dir), "--theorem", "Coq.Lists.List.app_nil_r",
                 "-k", "54", "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = {h["full_name"] for h in hits}
    # List.v requires Init/Nat.v only: nothing from Bool or Arith, nothing after app_nil_r
    assert not any(n.startswith(("Coq.Bool", "Coq.Arith", "Coq.Sorting")) for n in names)
    assert "Coq.Lists.List.rev_involutive" not in names
    assert "Init.Datatypes.list" in names and len(hits) == 8 + 7 + 4  # Logic, Nat, List up to app_nil_r
    assert [h["rank"] for h in hits] == list(range(1, 20))

    assert main(["retrieve", goal, "--index", str(index_dir), "-k", "3", "--approximate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "Coq.Lists.List.rev_involutive" in lines[0]


@pytest.mark.parametrize("argv, message", [
    (["retrieve", "x", "--index", "IDX", "--theorem", "No.such"], "--theorem No.such: no such declaration"),
    (["retrieve", "x", "--index", "IDX", "-k", "0"], "-k must be at least 1"),
    (["retrieve", "x", "--index", "/nonexistent/idx"], "not a premise index"),
    (["index", "build", "/nonexistent/bench", "--out", "/tmp/x"], "no such corpus file"),
    (["eval-retrieval", str(FIXTURE), "--splits", "odd"], "--splits odd: expected one of"),
    (["eval-retrieval", str(FIXTURE), "--encoder", "nopath"], "--encoder nopath: expected NAME=PATH"),
    (["train", "retriever", "/nonexistent/bench", "--out", "/tmp/x"], "no such benchmark directory"),
])
def test_bad_input_is_one_line_and_exit_2(index_dir, capsys, argv, message):
    argv = [str(index_dir) if a == "IDX" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_eval_retrieval_prints_and_writes_the_table_and_resumes(tmp_path, capsys):
    argv = ["eval-retrieval", str(FIXTURE), "--subsets", "test", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| bm25 | random | test |" in out and "| minilm-untrained | novel_premises | test |" in out
    rows = json.loads((tmp_path / "proofsmith.retrieval.json").read_text())
    assert len(rows) == 4 and all(0 <= r["r1"] <= r["r10"] <= 100 for r in rows)
    assert (tmp_path / "proofsmith.retrieval.md").read_text().startswith("| retriever |")
    # a rerun reads the finished rows instead of recomputing them
    lines = (tmp_path / "proofsmith.retrieval.jsonl").read_text().splitlines()
    assert main(argv) == 0
    assert (tmp_path / "proofsmith.retrieval.jsonl").read_text().splitlines() == lines
