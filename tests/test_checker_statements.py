"""`parse_statement(backend, text)`: each backend's own statement syntax, one Coq keyword list."""

import json

import pytest

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS
from proofsmith.checker.statements import STATEMENT_BACKENDS, Statement, StatementError, parse_statement


@pytest.mark.parametrize(
    "backend,text,name,checked",
    [
        ("coq", "Theorem t : forall n : nat, n + 0 = n.", "t", "Theorem t : forall n : nat, n + 0 = n."),
        ("coq", "  Property p' : True.\n", "p'", "Property p' : True."),
        ("coq", "(* from the book *) Lemma l : 1 = 1.", "l", "(* from the book *) Lemma l : 1 = 1."),
        ("lean", "theorem t (n : Nat) : n + 0 = n := by sorry", "t", "theorem t (n : Nat) : n + 0 = n"),
        ("lean", "theorem t (n : Nat) : n + 0 = n := sorry", "t", "theorem t (n : Nat) : n + 0 = n"),
        ("lean", "lemma Foo.«my thm» : True", "Foo.«my thm»", "lemma Foo.«my thm» : True"),
        ("fstar", "val incr : x:int -> y:int{y > x}", "incr", "val incr : x:int -> y:int{y > x}"),
        ("fstar", "inline_for_extraction noextract val f : int", "f", "inline_for_extraction noextract val f : int"),
    ],
)
def test_statements_name_what_they_declare(backend, text, name, checked):
    assert parse_statement(backend, text) == Statement(name, checked)


@pytest.mark.parametrize(
    "backend,text,expected",
    [
        ("coq", "theorem t (n : Nat) : n + 0 = n", "expected 'Theorem NAME"),
        ("coq", "Definition x := 1.", "expected 'Theorem NAME"),
        ("coq", "Theorem t : True. Theorem u : True.", "expected 'Theorem NAME"),
        ("lean", "Theorem t : 1 = 1.", "expected 'theorem NAME"),
        ("lean", "example : 1 = 1", "expected 'theorem NAME"),  # nothing to name the proof by
        ("fstar", "let f = 1", "expected 'val NAME"),
    ],
)
def test_other_text_is_refused_with_what_is_expected(backend, text, expected):
    with pytest.raises(StatementError, match=expected) as refused:
        parse_statement(backend, text)
    assert refused.value.backend == backend


def test_backends_without_a_statement_syntax():
    assert STATEMENT_BACKENDS == ("coq", "lean", "fstar")
    with pytest.raises(ValueError, match="no statement syntax for backend 'kimina'"):
        parse_statement("kimina", "theorem t : 1 = 1")


@pytest.mark.parametrize("keyword", sorted(THEOREM_KEYWORDS))
def test_every_theorem_keyword_the_guard_takes_is_a_coq_benchmark_statement(tmp_path, keyword):
    from proofsmith.eval.benchmarks import load_benchmark

    record = {
        "name": "t1", "split": "test", "header": "", "statement": f"{keyword} t1 : 1 + 1 = 2.",
        "compiles_coq816": True, "error": None, "debian_packages": [], "source": "me/repo@0123456789abcdef t1.v",
    }
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert [p.name for p in load_benchmark("minif2f-coq", "test", path).problems] == ["t1"]
    assert parse_statement("coq", record["statement"]).name == "t1"
