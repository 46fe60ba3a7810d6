"""Tracing Coq libraries, against real Coq: the fixture library tests/fixtures/tracelib
(Base <- Mid <- Top, and Other that nothing requires) traced once per module."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TRACELIB = FIXTURES / "tracelib"

pytestmark = pytest.mark.coq


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    out = tmp_path_factory.mktemp("trace")
    run = trace([from_folder(TRACELIB, "TraceLib")], out, workers=2, progress=False)
    return out, run


def corpus(out: Path) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, (out / "corpus.jsonl").read_text().splitlines())}


def theorems(out: Path, split: str = "random") -> dict[str, dict]:
    found = {}
    for part in ("train", "val", "test"):
        for t in json.loads((out / split / f"{part}.json").read_text()):
            found[t["full_name"]] = t
    return found


def premise(out: Path, full_name: str) -> dict:
    for record in corpus(out).values():
        for p in record["premises"]:
            if p["full_name"] == full_name:
                return p
    raise AssertionError(f"{full_name} not in the corpus")


# ---------------------------------------------------------------- corpus


def test_corpus_follows_leandojo_schema_with_coq_names_and_statements(traced):
    out, run = traced
    files = corpus(out)
    assert set(files) == {"tracelib/Base.v", "tracelib/Mid.v", "tracelib/Top.v", "tracelib/Other.v"}
    for record in files.values():
        assert set(record) == {"path", "imports", "premises"}
        for p in record["premises"]:
            assert set(p) == {"full_name", "code", "start", "end", "kind"}
            assert p["start"] <= p["end"] and p["start"][0] >= 1 and p["start"][1] >= 1
    assert files["tracelib/Mid.v"]["imports"] == ["tracelib/Base.v"]
    assert files["tracelib/Top.v"]["imports"] == ["tracelib/Mid.v"]
    assert files["tracelib/Other.v"]["imports"] == []
    # the statement as Coq prints it, positions as [line, column] from 1, end exclusive
    assert premise(out, "TraceLib.Base.double_S") == {
        "full_name": "TraceLib.Base.double_S",
        "code": "double_S : forall n : nat, double (S n) = S (S (double n))",
        "start": [11, 1],
        "end": [15, 5],
        "kind": "Lemma",
    }
    kinds = {p["full_name"]: p["kind"] for r in files.values() for p in r["premises"]}
    assert kinds["TraceLib.Base.shade"] == "Inductive"
    assert kinds["TraceLib.Base.Light"] == kinds["TraceLib.Base.Dark"] == "Constructor"
    assert kinds["TraceLib.Base.shade_ind"] == "Scheme"
    assert kinds["TraceLib.Base.double"] == "Definition"
    assert run.stats["failures_by_reason"] == {}


def test_section_declarations_get_their_final_name_and_discharged_statement(traced):
    out, _ = traced
    assert premise(out, "TraceLib.Mid.scale_0")["code"] == "scale_0 : forall k : nat, scale k 0 = 0"
    assert premise(out, "TraceLib.Mid.scale")["code"] == "scale : nat -> nat -> nat"


def test_included_constants_are_placed_at_the_include(traced):
    out, _ = traced
    included = premise(out, "TraceLib.Mid.MoreOps.twice_id")
    assert included["start"] == [15, 3] and included["kind"] == "Lemma"  # `Include Ops.`
    assert premise(out, "TraceLib.Mid.MoreOps.twice")["kind"] == "Definition"


def test_accessibility_follows_requires_and_file_order(traced):
    from proofsmith.retrieval.corpus import Corpus

    out, _ = traced
    lib = Corpus.load(out / "corpus.jsonl")
    thm = theorems(out)["TraceLib.Top.double_pos"]
    visible = {lib[i].full_name for i in lib.accessible_ids(thm["file_path"], tuple(thm["start"]))}
    assert "TraceLib.Base.double_S" in visible  # Top requires Mid, which requires Base
    assert "TraceLib.Mid.double_plus" in visible
    assert "TraceLib.Other.other_fact" not in visible  # nothing requires Other
    assert "TraceLib.Top.later_fact" not in visible  # later in the same file
    assert "TraceLib.Top.double_pos" not in visible  # not itself
    later = theorems(out)["TraceLib.Top.later_fact"]
    assert "TraceLib.Top.double_pos" in {
        lib[i].full_name for i in lib.accessible_ids(later["file_path"], tuple(later["start"]))
    }


def test_every_provenance_is_an_accessible_corpus_premise(traced):
    from proofsmith.retrieval.corpus import Corpus

    out, run = traced
    lib = Corpus.load(out / "corpus.jsonl")
    provenances = 0
    for t in theorems(out).values():
        mask = lib.accessible_mask(t["file_path"], tuple(t["start"]))
        for step in t["traced_tactics"]:
            for prov in step["annotated_tactic"][1]:
                found = lib.resolve(prov["full_name"], prov["def_path"], tuple(prov["def_pos"]))
                assert found is not None and found.full_name == prov["full_name"]
                assert mask[found.id], f"{t['full_name']} uses inaccessible {prov['full_name']}"
                provenances += 1
    assert provenances >= 5
    assert run.stats["premise_uses"].get("inaccessible", 0) == 0


# ---------------------------------------------------------------- traced proofs


def test_traced_tactics_name_their_premises(traced):
    out, _ = traced
    later = theorems(out)["TraceLib.Top.later_fact"]
    step = later["traced_tactics"][0]
    assert step["tactic"] == "rewrite double_S, double_0."
    text, provenances = step["annotated_tactic"]
    assert text == "rewrite <a>double_S</a>, <a>double_0</a>."
    assert provenances == [
        {"full_name": "TraceLib.Base.double_S", "def_path": "tracelib/Base.v", "def_pos": [11, 1], "def_end_pos": [15, 5]},
        {"full_name": "TraceLib.Base.double_0", "def_path": "tracelib/Base.v", "def_pos": [8, 1], "def_end_pos": [9, 25]},
    ]
    assert step["state_before"] == "============================\ndouble 1 = 2"
    assert later["traced_tactics"][-1]["state_after"] == "no goals"
    # hypotheses and tactic names are not premises
    pos = theorems(out)["TraceLib.Top.double_pos"]
    named = {p["full_name"] for s in pos["traced_tactics"] for p in s["annotated_tactic"][1]}
    assert named == {"TraceLib.Base.double_S"}  # Nat.lt_0_succ is in the untraced stdlib


def _coqc_shows(theorem: dict, header: str, build: Path, tmp: Path) -> list[str]:
    """What coqc prints for `Show.` after each traced tactic of `theorem`, replayed from its own script."""
    lines = [header, theorem["statement"]]
    tactics = iter(theorem["traced_tactics"])
    current = next(tactics)
    for sentence in theorem["proof"].split("\n"):
        lines.append(sentence)
        if current is not None and sentence == current["tactic"]:
            lines.append("Show.")
            current = next(tactics, None)
    lines.append("Qed.")
    script = tmp / "Replay.v"
    script.write_text("\n".join(lines))
    done = subprocess.run(
        ["coqc", "-q", "-R", str(build), "TraceLib", str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    # a focused state prints "N goals" then a line of two spaces; "goal 1 is:" after
    # "This subproof is complete" lists unfocused goals and belongs to that block
    return re.split(r"^(?=\d+ goals?\n  \n|No more goals\.$|This subproof is complete)", done.stdout, flags=re.M)[1:]


def _first_goal(show: str) -> tuple[int, str]:
    """(focused goals, the first one's text) from a coqc `Show` block; (0, "") when none is focused."""
    head = show.splitlines()[0]
    if not re.match(r"\d+ goals?$", head):
        return 0, ""
    body = show.split("\n", 2)[2]  # after "N goals" and the blank line
    first = re.split(r"\n\ngoal 2 is:", body)[0].rstrip("\n")
    return int(head.split()[0]), "\n".join(line[2:] for line in first.splitlines())


@pytest.mark.parametrize("name", ["TraceLib.Top.split_both", "TraceLib.Top.double_pos", "TraceLib.Top.shades"])
def test_traced_states_are_what_coqc_prints(traced, tmp_path, name):
    out, _ = traced
    theorem = theorems(out)[name]
    source = (TRACELIB / "Top.v").read_text().splitlines()
    header = "\n".join(source[: theorem["start"][0] - 1])
    shows = _coqc_shows(theorem, header, out / "build" / "TraceLib", tmp_path)
    assert len(shows) == len(theorem["traced_tactics"])
    for step, show in zip(theorem["traced_tactics"], shows):
        focused, first = _first_goal(show)
        goals = step["state_after"].split("\n\n(")[0]
        if focused == 0:
            assert goals == "no goals", (step["tactic"], show)
        else:
            assert goals.split("\n\n")[0] == first, (step["tactic"], show)
            assert len(goals.split("\n\n")) == focused


def test_a_proof_reassembled_from_traced_tactics_checks(traced):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.checker.types import Theorem

    out, _ = traced
    settings = CheckerSettings(workers=1, coq_args=["-R", str(out / "build" / "TraceLib"), "TraceLib"])
    source = (TRACELIB / "Top.v").read_text().splitlines()
    with open_checker("coq", settings) as checker:
        for name in ("TraceLib.Top.split_both", "TraceLib.Top.double_pos"):
            t = theorems(out)[name]
            theorem = Theorem(name.rsplit(".", 1)[1], t["statement"], "\n".join(source[: t["start"][0] - 1]))
            proof = " ".join(step["tactic"] for step in t["traced_tactics"])
            result = checker.check(theorem, proof)
            assert result.proved, (name, result.reason)
            assert checker.check(theorem, t["proof"]).proved  # the original script, bullets included


def test_splits_follow_leandojo(traced):
    out, run = traced
    everything = set(theorems(out))
    assert len(everything) == run.stats["theorems_traced"] == 11
    for split in ("random", "novel_premises"):
        parts = {p: {t["full_name"] for t in json.loads((out / split / f"{p}.json").read_text())} for p in ("train", "val", "test")}
        assert parts["train"] | parts["val"] | parts["test"] == everything
        assert not (parts["train"] & parts["val"]) and not (parts["train"] & parts["test"])
        assert parts["val"] and parts["test"]
    novel = {p: json.loads((out / "novel_premises" / f"{p}.json").read_text()) for p in ("train", "val", "test")}
    used = lambda t: {p["full_name"] for s in t["traced_tactics"] for p in s["annotated_tactic"][1]}  # noqa: E731
    in_train = set().union(*(used(t) for t in novel["train"]))
    for t in novel["val"] + novel["test"]:
        assert used(t) - in_train, f"{t['full_name']} uses no premise unseen in train"


def test_rerun_resumes_without_tracing_again(traced):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import RECORDS, trace

    out, first = traced
    with (out / RECORDS).open("a") as fh:
        fh.write('{"path": "tracelib/Top.v", "truncat')  # a run killed mid-write
    again = trace([from_folder(TRACELIB, "TraceLib")], out, workers=1, progress=False)
    assert (again.traced_now, again.reused) == (0, 4)
    assert again.stats["tactics"] == first.stats["tactics"]


def test_rerun_traces_again_the_files_that_import_a_changed_file(tmp_path):
    """Top requires Mid, which requires Base: a change to Base changes what Mid and Top see."""
    import shutil

    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    lib = tmp_path / "tracelib"
    shutil.copytree(TRACELIB, lib)
    out = tmp_path / "out"
    trace([from_folder(lib, "TraceLib")], out, workers=2, progress=False)
    with (lib / "Base.v").open("a") as fh:
        fh.write("\nLemma base_extra : double 2 = 4.\nProof. reflexivity. Qed.\n")
    again = trace([from_folder(lib, "TraceLib")], out, workers=2, progress=False)
    assert (again.traced_now, again.reused) == (3, 1)  # Base, Mid and Top again; Other untouched
    assert "TraceLib.Base.base_extra" in {p["full_name"] for p in corpus(out)["tracelib/Base.v"]["premises"]}
    (lib / "Other.v").write_text((lib / "Other.v").read_text() + "\n(* edited *)\n")
    third = trace([from_folder(lib, "TraceLib")], out, workers=2, progress=False)
    assert (third.traced_now, third.reused) == (1, 3)  # nothing imports Other


def test_retry_failed_traces_partial_files_again(tmp_path):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    broken = [from_folder(FIXTURES / "tracelib_broken", "Broken")]
    first = trace(broken, tmp_path, workers=1, progress=False)
    assert first.stats["files_by_status"] == {"partial": 1}
    assert trace(broken, tmp_path, workers=1, progress=False).traced_now == 0
    assert trace(broken, tmp_path, workers=1, progress=False, retry_failed=True).traced_now == 1


def test_admitted_lemmas_are_marked_and_left_out_of_retrieval(tmp_path):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace
    from proofsmith.retrieval.corpus import Corpus

    trace([from_folder(FIXTURES / "tracelib_broken", "Broken")], tmp_path, workers=1, progress=False)
    premises = {p["full_name"]: p for p in corpus(tmp_path)["tracelib_broken/Broken.v"]["premises"]}
    assert premises["Broken.Broken.bad"]["admitted"] is True  # its proof failed; the tracer admitted it
    assert premises["Broken.Broken.assumed"]["admitted"] is True  # the file says Admitted
    assert "admitted" not in premises["Broken.Broken.good_first"]
    retrievable = Corpus.load(tmp_path)
    assert {p.full_name for p in retrievable.premises} == {
        "Broken.Broken.good_first", "Broken.Broken.after_bad", "Broken.Broken.good_last"
    }
    assert retrievable.admitted_left_out == 2
    everything = Corpus.load(tmp_path, include_admitted=True)
    assert {p.full_name for p in everything.premises if p.admitted} == {"Broken.Broken.bad", "Broken.Broken.assumed"}


# ---------------------------------------------------------------- failures


def test_a_failing_proof_or_sentence_is_recorded_and_skipped(tmp_path):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    run = trace([from_folder(FIXTURES / "tracelib_broken", "Broken")], tmp_path, workers=1, progress=False)
    (record,) = [json.loads(line) for line in (tmp_path / "traced_files.jsonl").read_text().splitlines()]
    assert record["status"] == "partial"
    reasons = {(f["reason"], f["start"][0]) for f in record["failures"]}
    assert ("tactic_error", 10) in reasons  # reflexivity on 1 = 2
    assert ("error", 16) in reasons  # undefined_thing
    traced_names = {t["full_name"] for t in record["theorems"]}
    assert traced_names == {"Broken.Broken.good_first", "Broken.Broken.after_bad", "Broken.Broken.good_last"}
    assert record["counts"]["failed_proofs"] == 1
    assert run.stats["files_not_compiled"] == ["tracelib_broken/Broken.v"]


def test_cli_summary_names_the_files_that_did_not_compile(tmp_path, capsys):
    from proofsmith.cli import main

    broken = str(FIXTURES / "tracelib_broken")
    # exit 1: files failed (the summary says which, with Coq's error)
    assert main(["trace", "--library", broken, "--logical-path", "Broken", "--out", str(tmp_path), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    summary = json.loads(err[err.index("{\n") : err.index("\n}\n") + 2])  # the JSON block, past the progress bar
    assert summary["files_not_compiled"] == ["tracelib_broken/Broken.v"]
    assert summary["why_files_failed"]["tracelib_broken/Broken.v"].startswith("line ")
    assert summary["by_status"] == {"partial": 1}


def test_cli_names_bad_input(tmp_path, capsys):
    from proofsmith.cli import main

    assert main(["trace", "--library", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert main(["trace", "--library", "stdlib", "--logical-path", "X", "--out", str(tmp_path / "o")]) == 2
    assert "--logical-path" in capsys.readouterr().err
