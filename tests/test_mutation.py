"""Symbolic mutation against real Coq: the rules, the run, its funnel, resume, and an
independent re-check of sampled mutants with plain `coqc`."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.coq

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mutation"
LIMIT = 60


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "proofsmith.cli", *args], capture_output=True, text=True, timeout=600
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mutate") / "mutants.jsonl"
    done = _cli("synth", "mutate", "--trace", str(FIXTURE), "--limit", str(LIMIT), "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    return out, done.stdout


def test_funnel_is_consistent_and_both_rules_verify(run):
    out, stdout = run
    funnel = json.loads(out.with_name(out.name + ".funnel.json").read_text())
    records = _lines(out)
    for rule in ("rewrite", "apply"):
        row = funnel["rules"][rule]
        assert row["theorems"] > 0
        assert row["attempts"] >= row["candidates"] >= row["checked"] >= row["verified"] >= row["unique"] > 0
        assert row["unique"] == sum(r["rule"] == rule for r in records)
    assert funnel["total"]["unique"] == len(records)
    parents = _lines(out.with_name(out.name + ".parents.jsonl"))
    assert len(parents) == LIMIT == len({p["parent"] for p in parents})
    md = out.with_name(out.name + ".funnel.md").read_text()
    assert "| rewrite |" in md and "| apply |" in md
    assert "verified/checked" in stdout and "per minute" in stdout
    # throughput over every run that wrote the log: the parents' own seconds
    minutes = sum(p["seconds"] for p in parents) / 60
    assert minutes > 0 and funnel["worker_minutes"] == round(minutes, 1)
    assert funnel["verified_per_worker_minute"] == round(funnel["total"]["verified"] / minutes, 1)


def test_mutants_are_unique_and_new(run):
    out, _ = run
    records = _lines(out)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys))
    source_keys = {r["key"] for r in _lines(out.with_name(out.name + ".source.jsonl")) if r.get("key")}
    assert not set(keys) & source_keys
    for r in records:
        assert r["statement"].startswith(f"Theorem {r['name']} : ")
        assert r["proof"] and r["checker"]["backend"] == "coq" and r["checker"]["version"]
        assert r["premise"] and r["parent"] and r["rule"] in ("rewrite", "apply")
        assert r["source"].startswith("coq/coq@V8.16.1 theories/") and r["header"].startswith("Require Import Coq.")
        assert [t["tactic"] for t in r["traced_tactics"]] == _sentences(r["proof"])
        assert r["traced_tactics"][-1]["state_after"] == "no goals"


def _sentences(proof: str) -> list[str]:
    from proofsmith.checker.coq.sentences import split_sentences

    return [s.text for s in split_sentences(proof)]


def _body(statement: str) -> str:
    """The statement without `Theorem NAME :` and the final period, spacing normalised."""
    return " ".join(statement.split(":", 1)[1].strip().rstrip(".").split())


def test_sampled_mutants_recheck_with_plain_coqc(run):
    """`proofsmith recheck CORPUS`: each sampled mutant compiled alone by coqc, axioms located, statement changed."""
    out, _ = run
    records = _lines(out)
    sample = min(8, len(records))
    done = subprocess.run(
        [sys.executable, "-m", "proofsmith.cli", "recheck", str(out), "--sample", str(sample), "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"(mutant corpus): {sample} re-checked by plain coqc, {sample} passed, 0 failed" in done.stdout
    assert "mutant (rewrite)" in done.stdout and "mutant (apply)" in done.stdout
    # and it does reject: a mutant whose proof is its parent's statement unchanged, or wrong
    bad = dict(records[0], name=records[0]["name"] + "_bad", proof="exact I.")
    same = dict(records[0], name=records[0]["name"] + "_same", statement=records[0]["parent_statement"].replace(
        records[0]["parent_statement"].split()[1], records[0]["name"] + "_same", 1))
    broken = out.with_name("broken.jsonl")
    broken.write_text(json.dumps(bad) + "\n" + json.dumps(same) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "proofsmith.cli", "recheck", str(broken), "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 1 and "2 re-checked by plain coqc, 0 passed, 2 failed" in done.stdout, done.stdout
    assert "same statement as its parent" in done.stdout


def test_rules_on_known_parents():
    from proofsmith.checker.coq.session import CoqSession
    from proofsmith.data_synth.mutation import MutationSettings, Mutator
    from proofsmith.data_synth.mutation_run import MutationLibrary

    library = MutationLibrary.load(FIXTURE)
    parent = next(p for p in library.parents if p.full_name == "Coq.Lists.List.remove_length_le")
    with CoqSession() as session:
        outcome = Mutator(session, library.index, MutationSettings()).mutate(
            parent, library.corpus.accessible_mask(parent.path, parent.start)
        )
    assert not outcome.error
    assert outcome.statement == (
        "Theorem Lists_List_remove_length_le : forall (A : Type) (eq_dec : forall x y : A, {x = y} + {x <> y})"
        " (l : list A) (x : A), length (remove eq_dec x l) <= length l."
    )
    by_premise = {(m.rule, m.premise): m for m in outcome.mutants}
    # apply, conclusion: n <= m gives S n <= S m through le_n_S
    m = by_premise[("apply", "Coq.Init.Peano.le_n_S")]
    assert _body(m.statement).endswith("S (length (remove eq_dec x l)) <= S (length l)")
    assert m.proof == (
        "intros A eq_dec l x. apply Coq.Init.Peano.le_n_S. exact (@Coq.Lists.List.remove_length_le A eq_dec l x)."
    )
    # rewrite: remove x (remove x l) = remove x l, read right to left
    m = by_premise[("rewrite", "Coq.Lists.List.remove_remove_eq")]
    assert "remove eq_dec x (remove eq_dec x l)" in m.statement and m.use == "rewrite <-"
    assert all(mm.checker["backend"] == "coq" for mm in outcome.mutants)


def test_killed_run_resumes_to_the_same_corpus(run, tmp_path):
    reference, _ = run
    out = tmp_path / "resumed.jsonl"
    parents_log = out.with_name(out.name + ".parents.jsonl")
    cmd = [sys.executable, "-m", "proofsmith.cli", "synth", "mutate", "--trace", str(FIXTURE), "--limit", str(LIMIT),
           "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parents_log.exists() and len(parents_log.read_text().splitlines()) >= 10:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(parents_log.read_text().splitlines())
    assert 0 < killed_at < LIMIT
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    parents = [json.loads(line)["parent"] for line in parents_log.read_text().splitlines()]
    assert len(parents) == len(set(parents)) == LIMIT
    resumed = _lines(out)
    assert len({r["key"] for r in resumed}) == len(resumed)
    assert {r["key"] for r in resumed} == {r["key"] for r in _lines(reference)}
    funnel = json.loads(out.with_name(out.name + ".funnel.json").read_text())
    assert funnel["total"]["unique"] == len(resumed)


def test_outputs_feed_training_eval_and_check(run):
    from proofsmith.cli.check import read_tasks
    from proofsmith.eval.benchmarks import load_benchmark
    from proofsmith.retrieval.benchmark import Benchmark

    out, _ = run
    records = _lines(out)
    bench = Benchmark(out.with_name(out.name + ".benchmark"))
    traced = [t for subset in ("train", "val", "test") for t in bench.theorems("random", subset)]
    assert len(traced) == len(records)
    queries = [q for subset in ("train", "val", "test") for q in bench.queries("random", subset)]
    assert queries and sum(bool(q.positives) for q in queries) >= len(records)  # parent and premise resolve
    by_split = {}
    for r in records:
        by_split.setdefault(r["split"], []).append(r["name"])
    for split, names in by_split.items():
        problems = load_benchmark("coq-mutants", split, out).problems
        assert sorted(p.name for p in problems) == sorted(names)
    assert len(read_tasks(out, "coq")) == len(records)


def test_cli_rejects_bad_input(tmp_path):
    done = _cli("synth", "mutate", "--trace", str(tmp_path / "nope"), "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "no such directory" in done.stderr
    done = _cli("synth", "mutate", "--trace", str(FIXTURE), "--rules", "rewrite,shuffle", "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "shuffle" in done.stderr
    (tmp_path / "empty").mkdir()
    done = _cli("synth", "mutate", "--trace", str(tmp_path / "empty"), "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "corpus.jsonl" in done.stderr
