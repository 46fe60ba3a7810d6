"""Mutants in the tactic memory (prover.memory_mutants): which a memory of a train part may hold, the
refusal of a bad corpus, what an eval run records, and a search that proves a theorem only thanks to
a mutant's step (real FAISS, the real feature encoder, real Coq where a search runs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from proofsmith.formats.mutant_record import MutantRecord
from proofsmith.formats.statement_key import statement_key
from proofsmith.prover.memory_mutants import memory_with_mutants, select_mutants, source_log_of
from proofsmith.prover.tactic_memory import TacticMemoryError
from tests.hand_trace import write_hand_trace

from .cli_errors import usage_error

SEP = "============================"
TRACELIB = Path(__file__).parent / "fixtures" / "tracelib"


def goal(hyps: str, target: str) -> str:
    return f"{hyps}\n{SEP}\n{target}" if hyps else f"{SEP}\n{target}"


def theorem(name: str, steps: list[tuple[str, str]], type_: str = "", file_path: str = "theories/X.v",
            line: int = 1, statement: str = "", proof: str = "") -> dict:
    return {
        "url": "", "commit": "", "file_path": file_path, "full_name": name, "start": [line, 1], "end": [line + 1, 5],
        "traced_tactics": [{"tactic": t, "annotated_tactic": [t, []], "state_before": s, "state_after": ""}
                           for s, t in steps],
        "kind": "Lemma", "module": name.rsplit(".", 1)[0], "statement": statement, "type": type_, "proof": proof,
    }


def mutant(name: str, parent: str, statement_type: str, steps: list[tuple[str, str]], key: str | None = None) -> dict:
    return MutantRecord(
        name=name, split="train", header="", statement=f"Theorem {name} : {statement_type}.", proof="idtac.",
        source="coq/coq@V8.16.1 theories/X.v", parent=parent, parent_statement="Theorem p : True.", rule="rewrite",
        use="rewrite ->", premise="Coq.Init.Logic.eq_sym", location="goal", proof_style="inverse",
        discovery_tactic="rewrite eq_sym.", key=statement_key(statement_type) if key is None else key,
        file_path="theories/X.v", position=(1, 1),
        traced_tactics=tuple({"tactic": t, "state_before": s, "state_after": ""} for s, t in steps),
        checker={}, load_path=None,
    ).to_json()


def write_corpus(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


ADD_0 = goal("", "forall n : nat, n + 0 = n")
TRAIN = [
    theorem("Lib.add_0", [(ADD_0, "intros n."), (goal("n : nat", "n + 0 = n"), "rewrite <- plus_n_O.")],
            "forall n : nat, n + 0 = n"),
    theorem("Lib.le_anti", [(goal("a, b : nat\nHab : a <= b\nHba : b <= a", "a = b"), "apply Nat.le_antisymm; auto.")],
            "forall a b : nat, a <= b -> b <= a -> a = b"),
]
# the val theorem has no printed type: mutation's source log keys it
VAL = [theorem("Lib.zero_add", [(goal("", "forall n : nat, 0 + n = n"), "reflexivity.")])]
TEST = [theorem("Lib.rev_rev", [(goal("", "forall l : list nat, rev (rev l) = l"), "apply rev_involutive.")],
                "forall l : list nat, rev (rev l) = l")]

MUL_1 = goal("", "forall m : nat, m * 1 = m")
CORPUS = [
    mutant("add_0_mul", "Lib.add_0", "forall m : nat, m * 1 = m",
           [(MUL_1, "intros m."), (goal("m : nat", "m * 1 = m"), "rewrite Nat.mul_1_r.")]),
    # alpha-equivalent to the test theorem (other bound name, other spacing), its recorded key lost
    mutant("restates_test", "Lib.add_0", "forall (xs : list nat),  rev (rev xs) = xs",
           [(goal("", "forall xs : list nat, rev (rev xs) = xs"), "exact rev_involutive.")], key=""),
    # alpha-equivalent to the val theorem, which only the source log keys
    mutant("restates_val", "Lib.le_anti", "forall k : nat, 0 + k = k", [(goal("", "forall k : nat, 0 + k = k"), "auto.")]),
    mutant("of_a_test_theorem", "Lib.rev_rev", "forall l : list nat, l = rev (rev l)",
           [(goal("", "forall l : list nat, l = rev (rev l)"), "auto.")]),
    mutant("no_steps", "Lib.add_0", "forall n : nat, n = n + 0", []),
    mutant("Lib.le_anti", "Lib.add_0", "forall n : nat, n + 0 + 0 = n", [(goal("", "forall n : nat, n + 0 + 0 = n"), "auto.")]),
]


def write_trace(root: Path, train: list[dict] = TRAIN, val: list[dict] = VAL, test: list[dict] = TEST) -> Path:
    return write_hand_trace(root, test, name="lib", logical="Lib", root=root, load_path=[], train=train, val=val)


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    return write_trace(tmp_path / "trace")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = write_corpus(tmp_path / "mutants.jsonl", CORPUS)
    source_log_of(path).write_text(
        json.dumps({"name": "Lib.zero_add", "statement": "Theorem zero_add : forall n : nat, 0 + n = n.",
                    "key": statement_key("forall (n : nat), 0 + n = n")}) + "\n"
        + json.dumps({"name": "Lib.broken", "error": "header does not load"}) + "\n")
    return path


def test_only_mutants_of_train_parents_that_restate_no_held_out_theorem_are_added(tmp_path, trace, corpus):
    selection, proofs = select_mutants(corpus, trace, "random")
    assert [name for name, _ in proofs] == ["add_0_mul"]
    assert proofs[0][1] == [(MUL_1, "intros m."), (goal("m : nat", "m * 1 = m"), "rewrite Nat.mul_1_r.")]
    assert (selection.records, selection.added, selection.steps_added) == (6, 1, 2)
    assert (selection.parent_not_in_train, selection.restates_held_out, selection.no_steps, selection.name_taken) == (
        1, 2, 1, 1)
    assert selection.restated == (("restates_test", "Lib.rev_rev"), ("restates_val", "Lib.zero_add"))
    assert (selection.held_out_theorems, selection.held_out_keys, selection.held_out_unkeyed) == (2, 2, 0)
    assert selection.held_out_in_source_log == 1 and selection.source_log == str(source_log_of(corpus).resolve())
    assert selection.corpus == str(corpus.resolve()) and len(selection.corpus_sha256) == 64

    memory = memory_with_mutants(trace, "random", corpus, cache_dir=tmp_path / "cache")
    assert memory.theorems() == {"Lib.add_0", "Lib.le_anti", "add_0_mul"}
    assert len(memory) == 3 + 2 and memory.learned == 0  # built in, not learned online
    assert memory.proof("add_0_mul").tactics == ("intros m.", "rewrite Nat.mul_1_r.")
    assert memory.nearest(goal("k : nat", "k * 1 = k"), 1)[0].tactic == "rewrite Nat.mul_1_r."
    assert memory.source["mutants"] == selection.to_json()
    assert memory.source["mutants"]["excluded"] == {"parent_not_in_train": 1, "restates_held_out": 2, "no_steps": 1,
                                                    "name_taken": 1}
    # the second opening reads the cache; a changed corpus is another entry
    again = memory_with_mutants(trace, "random", corpus, cache_dir=tmp_path / "cache")
    assert again.theorems() == memory.theorems() and again.source["mutants"] == memory.source["mutants"]
    entries = {p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()}
    write_corpus(corpus, CORPUS[:1] + [mutant("add_0_again", "Lib.add_0", "forall m : nat, m + 0 + 0 = m",
                                              [(goal("", "forall m : nat, m + 0 + 0 = m"), "auto.")])])
    changed = memory_with_mutants(trace, "random", corpus, cache_dir=tmp_path / "cache")
    assert "add_0_again" in changed.theorems() and changed.source["mutants"]["added"] == 2
    assert len({p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()} - entries) == 1


def test_the_steps_that_cite_the_parent_are_not_remembered(tmp_path, trace):
    # Alchemy's inverse proof: back to the parent's statement, then the parent itself
    inverse = mutant("add_0_sym", "Lib.add_0", "forall n : nat, n = n + 0",
                     [(goal("", "forall n : nat, n = n + 0"), "intros n."),
                      (goal("n : nat", "n = n + 0"), "rewrite Coq.Init.Logic.eq_sym_iff."),
                      (goal("n : nat", "n + 0 = n"), "exact (@Lib.add_0 n).")])
    by_short_name = mutant("add_0_only", "Lib.add_0", "forall k : nat, k + 0 = k",
                           [(goal("", "forall k : nat, k + 0 = k"), "apply add_0.")])
    # a constant whose name merely ends like the parent's is not the parent
    other = mutant("add_0_other", "Lib.add_0", "forall k : nat, k + 0 + 0 = k",
                   [(goal("", "forall k : nat, k + 0 + 0 = k"), "rewrite Nat.add_0, my_add_0'.")])
    corpus = write_corpus(tmp_path / "mutants.jsonl", [inverse, by_short_name, other])
    selection, proofs = select_mutants(corpus, trace, "random")
    assert dict(proofs) == {
        "add_0_sym": [(goal("", "forall n : nat, n = n + 0"), "intros n."),
                      (goal("n : nat", "n = n + 0"), "rewrite Coq.Init.Logic.eq_sym_iff.")],
        "add_0_other": [(goal("", "forall k : nat, k + 0 + 0 = k"), "rewrite Nat.add_0, my_add_0'.")],
    }
    assert (selection.added, selection.steps_added, selection.parent_steps_dropped, selection.no_steps) == (2, 3, 1, 1)
    assert selection.to_json()["parent_steps_dropped"] == 1
    memory = memory_with_mutants(trace, "random", corpus, cache_dir=tmp_path / "cache")
    assert all(not hit.tactic.startswith("exact (@Lib.add_0") for hit in memory.nearest(goal("m : nat", "m + 0 = m"), 8))


def test_the_held_out_theorems_are_the_strategy_s_own(tmp_path, corpus):
    # under novel_premises the test theorem is another one: the mutant restating random's test theorem is kept
    trace = write_trace(tmp_path / "trace")
    other = [theorem("Lib.other", [(goal("", "True"), "exact I.")], "True")]
    (trace / "novel_premises" / "test.json").write_text(json.dumps(other))
    selection, proofs = select_mutants(corpus, trace, "novel_premises")
    assert "restates_test" in {name for name, _ in proofs}
    assert selection.restated == (("restates_val", "Lib.zero_add"),) and selection.strategy == "novel_premises"


def test_a_bad_corpus_or_trace_is_refused_naming_it(tmp_path, trace):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(TacticMemoryError, match=f"memory_mutants: '{missing}' is not a file"):
        memory_with_mutants(trace, "random", missing, cache_dir=tmp_path / "cache")
    empty = write_corpus(tmp_path / "empty.jsonl", [])
    with pytest.raises(TacticMemoryError, match=f"not a mutant corpus: {empty}: no records"):
        memory_with_mutants(trace, "random", empty, cache_dir=tmp_path / "cache")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(CORPUS[0]) + "\n" + json.dumps({**CORPUS[1], "parent": 3}) + "\n")
    with pytest.raises(TacticMemoryError, match=f"not a mutant corpus: {bad}:2.*parent"):
        memory_with_mutants(trace, "random", bad, cache_dir=tmp_path / "cache")
    torn = tmp_path / "torn.jsonl"
    torn.write_text("{\"name\": \n")
    with pytest.raises(TacticMemoryError, match=f"not a mutant corpus: {torn}:1"):
        memory_with_mutants(trace, "random", torn, cache_dir=tmp_path / "cache")
    good = write_corpus(tmp_path / "good.jsonl", CORPUS[:1])
    (trace / "random" / "val.json").unlink()
    with pytest.raises(TacticMemoryError, match="val.json' does not exist; mutants restating a held-out theorem"):
        memory_with_mutants(trace, "random", good, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any(p.is_dir() for p in (tmp_path / "cache").iterdir())


def test_the_registry_takes_memory_mutants_and_names_what_it_refuses(tmp_path, monkeypatch, trace, corpus):
    from proofsmith.prover.registry import ProverOptionError, benchmark_defaults, make_prover, run_record

    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    prover = make_prover("memory-search", memory=str(trace), memory_mutants=str(corpus))
    memory = prover.generator.parts[0][0].memory
    assert "add_0_mul" in memory.theorems() and "restates_test" not in memory.theorems()
    # what an eval run writes into run.json, from the memory the prover shares
    record = run_record("memory-search", {"memory": str(trace), "memory_mutants": str(corpus)})
    assert record == {"memory_mutants": memory.source["mutants"]}
    assert record["memory_mutants"]["corpus_sha256"] and record["memory_mutants"]["added"] == 1
    assert run_record("memory-search", {"memory": str(trace)}) == {}
    assert run_record("portfolio", {}) == {}
    with pytest.raises(ProverOptionError, match="memory_mutants on coq-mutants would remember"):
        benchmark_defaults("memory-search", {"memory": str(trace), "memory_mutants": str(corpus)}, "coq-mutants",
                           str(corpus), "test")
    with pytest.raises(ProverOptionError, match="memory_mutants=CORPUS adds mutants to a tactic memory: give memory="):
        make_prover("search", memory_mutants=str(corpus), model="x")
    with pytest.raises(ProverOptionError, match="not to the chronological protocol"):
        make_prover("memory-search", memory=str(trace), memory_mutants=str(corpus), memory_protocol="chronological")
    with pytest.raises(ProverOptionError, match=f"memory '{trace}': memory_mutants: '{tmp_path / 'x.jsonl'}' is not a file"):
        make_prover("memory-search", memory=str(trace), memory_mutants=str(tmp_path / "x.jsonl"))


# ---------------------------------------------------------------- in search and in an eval run, against real Coq

LIST = "From Coq Require Import List."


@pytest.mark.coq
def test_search_proves_a_theorem_only_thanks_to_a_mutant_s_step(tmp_path, monkeypatch):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.checker.types import Theorem
    from proofsmith.prover.base import Budget
    from proofsmith.prover.registry import make_prover

    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    trace = write_trace(tmp_path / "trace")
    # a mutant of a train theorem whose proof ends in the step the target needs
    corpus = write_corpus(tmp_path / "mutants.jsonl", [mutant(
        "rev_rev_bool", "Lib.add_0", "forall ys : list bool, rev (rev ys) = ys",
        [(goal("", "forall ys : list bool, rev (rev ys) = ys"), "intros ys."),
         (goal("ys : list bool", "rev (rev ys) = ys"), "exact (rev_involutive ys).")])])
    target = Theorem("rev_rev_nat", "Theorem rev_rev_nat : forall xs : list nat, rev (rev xs) = xs.", LIST)
    budget = Budget(wall_s=120, expansions=3, tactic_timeout_s=5)  # bounded by expansions: the machine is loaded
    with open_checker("coq", CheckerSettings(workers=1)) as checker:
        plain = make_prover("memory-search", memory=str(trace), memory_online=False).prove(target, checker, budget)
        assert not plain.proved
        with_mutants = make_prover("memory-search", memory=str(trace), memory_mutants=str(corpus),
                                   memory_online=False).prove(target, checker, budget)
        assert with_mutants.proved, with_mutants.reason
        assert "rev_involutive" in with_mutants.proof
        assert checker.check(target, with_mutants.proof).proved


@pytest.mark.coq
def test_eval_records_the_mutants_in_run_json_and_refuses_a_bad_corpus(tmp_path, monkeypatch, capsys):
    from proofsmith.cli import main

    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    library = tmp_path / "tracelib"
    shutil.copytree(TRACELIB, library)
    (library / "_CoqProject").write_text("-R . TraceLib\nBase.v\nMid.v\nTop.v\n")
    for name in ("Base.v", "Mid.v", "Top.v"):
        subprocess.run(["coqc", "-R", ".", "TraceLib", name], cwd=library, check=True, capture_output=True)
    double_s = "forall n : nat, double (S n) = S (S (double n))"
    train = [theorem("TraceLib.Base.double_S", [(goal("", double_s), "intros n."),
                                                (goal("n : nat", "double (S n) = S (S (double n))"), "reflexivity.")],
                     double_s, "tracelib/Base.v", 11)]
    test = [theorem("TraceLib.Top.later_fact", [(goal("", "double 1 = 2"), "rewrite double_S, double_0.")],
                    "double 1 = 2", "tracelib/Top.v", 27, "Lemma later_fact : double 1 = 2.",
                    "Proof. rewrite double_S, double_0. reflexivity. Qed.")]
    trace = write_hand_trace(tmp_path / "trace", test, name="tracelib", logical="TraceLib", root=library,
                             load_path=["-R", str(library), "TraceLib"], train=train)
    corpus = write_corpus(tmp_path / "mutants.jsonl", [
        mutant("later_fact_again", "TraceLib.Base.double_S", "double  1 = 2", [(goal("", "double 1 = 2"), "auto.")]),
        mutant("double_SS", "TraceLib.Base.double_S", "forall m : nat, double (S (S m)) = S (S (S (S (double m))))",
               [(goal("", "forall m : nat, double (S (S m)) = S (S (S (S (double m))))"), "intros m."),
                (goal("m : nat", "double (S (S m)) = S (S (S (S (double m))))"), "reflexivity.")]),
    ])
    out = tmp_path / "run"
    argv = ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/test",
            "--prover", "memory-search", "--prover-option", f"memory_mutants={corpus}", "--budget-s", "10",
            "--workers", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    added = run["memory_mutants"]
    assert (added["corpus"], added["records"], added["added"], added["steps_added"]) == (str(corpus.resolve()), 2, 1, 2)
    assert added["excluded"]["restates_held_out"] == 1
    assert added["restated"] == [{"mutant": "later_fact_again", "held_out": "TraceLib.Top.later_fact"}]
    assert run["prover_options"]["memory_mutants"] == str(corpus)
    assert len((out / "results.jsonl").read_text().splitlines()) == 1
    # the same command resumes; a changed corpus is another run
    assert main(argv) == 0
    write_corpus(corpus, [mutant("double_SS", "TraceLib.Base.double_S", "forall m : nat, double (S (S m)) = 4 + double m",
                                 [(goal("", "forall m : nat, double (S (S m)) = 4 + double m"), "reflexivity.")])])
    assert "was started with other options (memory_mutants:" in usage_error(capsys, argv)
    # a missing or malformed corpus: one line, and no run folder left behind
    fresh = tmp_path / "fresh"
    argv = [*argv[:-1], str(fresh)]
    missing = tmp_path / "none.jsonl"
    err = usage_error(capsys, [a if not a.startswith("memory_mutants=") else f"memory_mutants={missing}" for a in argv])
    assert f"memory_mutants: '{missing}' is not a file" in err
    (tmp_path / "bad.jsonl").write_text("not json\n")
    err = usage_error(capsys, [a if not a.startswith("memory_mutants=") else f"memory_mutants={tmp_path / 'bad.jsonl'}"
                               for a in argv])
    assert f"not a mutant corpus: {tmp_path / 'bad.jsonl'}:1" in err
    assert not (fresh / "run.json").exists()
