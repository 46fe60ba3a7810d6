"""Library theorems proved where they stand (issue 14, points 3-5): `check --project`, the
`coq-library` benchmark over a trace folder, and the `reference` prover that replays the human proofs.

The small library is tests/fixtures/tracelib, copied with a `_CoqProject` (`-R . TraceLib`)
so that its theorems can be opened in their files. The pure tests read a trace written
here by hand; the Coq tests trace the copy for real (a second or two).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from proofsmith.cli import main
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.eval.benchmarks.problem import library_area
from proofsmith.eval.runner import select_problems
from proofsmith.formats.json_files import InputFileError
from tests.hand_trace import write_hand_trace

from .cli_errors import usage_error

FIXTURES = Path(__file__).parent / "fixtures"
TRACELIB = FIXTURES / "tracelib"
LEANDOJO = FIXTURES / "leandojo_benchmark_4"
FILES = ("Base.v", "Mid.v", "Top.v", "Other.v")


def _library(tmp_path: Path, compiled: bool = False, project_file: bool = True) -> Path:
    root = tmp_path / "tracelib"
    shutil.copytree(TRACELIB, root)
    if project_file:
        (root / "_CoqProject").write_text("-R . TraceLib\n" + "\n".join(FILES) + "\n")
    if compiled:
        for name in FILES:
            subprocess.run(["coqc", "-R", ".", "TraceLib", name], cwd=root, check=True, capture_output=True)
    return root


def _traced(file_path: str, full_name: str, line: int, kind: str = "Lemma", proof: str = "Proof.\nreflexivity.") -> dict:
    return {
        "url": "", "commit": "", "file_path": file_path, "full_name": full_name, "start": [line, 1], "end": [line + 1, 5],
        "traced_tactics": [{"tactic": "reflexivity.", "annotated_tactic": ["reflexivity.", []],
                            "state_before": "goal", "state_after": "no goals"}],
        "kind": kind, "module": full_name.rsplit(".", 1)[0], "statement": "", "type": "", "proof": proof,
    }


def _hand_trace(tmp_path: Path, library: Path, test: list[dict]) -> Path:
    """A trace folder as `proofsmith trace` writes it, with the given random/test theorems."""
    return write_hand_trace(tmp_path / "trace", test, name="tracelib", logical="TraceLib", root=library,
                            load_path=["-R", str(library), "TraceLib"])


HAND_TEST = [
    _traced("tracelib/Top.v", "TraceLib.Top.later_fact", 27, proof="Proof.\nrewrite double_S, double_0.\nreflexivity."),
    _traced("tracelib/Base.v", "TraceLib.Base.double", 4, kind="Definition"),
    _traced("tracelib/Mid.v", "TraceLib.Mid.scale_0", 10),
    _traced("tracelib/Mid.v", "TraceLib.Mid.instance_of_nothing", 3, kind="Instance"),
    _traced("tracelib/Base.v", "TraceLib.Base.Ops.twice_id", 20),
]


# ---------------------------------------------------------------- the loader (no Coq needed)


def test_problems_are_the_theorem_keyword_theorems_each_in_its_file(tmp_path):
    library = _library(tmp_path)
    bench = load_benchmark("coq-library", "random/test", _hand_trace(tmp_path, library, HAND_TEST))
    assert [p.name for p in bench.problems] == ["TraceLib.Top.later_fact", "TraceLib.Mid.scale_0", "TraceLib.Base.Ops.twice_id"]
    later = bench.problems[0]
    # the statement is the file's own text; the place is the project folder, the file inside it, the statement's line
    assert later.theorem.statement == "Lemma later_fact : double 1 = 2."
    assert later.theorem.place.project == str(library.resolve())
    assert (later.theorem.place.file, later.theorem.place.line) == ("Top.v", 27)
    assert later.theorem.header == "" and later.theorem.backend == "coq"
    assert later.reference_proof == "Proof.\nrewrite double_S, double_0.\nreflexivity."
    assert later.category == "Top" and later.extra["start"] == [27, 1]
    assert bench.problems[2].theorem.place.line == 20  # inside module Ops
    assert bench.category_label == "library area"
    assert bench.notes[0].startswith("5 traced proofs in random/test; the 3 stated with a theorem keyword")
    assert bench.notes[1] == "2 left out: Definition 1, Instance 1"
    assert bench.load_path.coq_args() == ["-R", str(library), "TraceLib"]


def test_a_theorem_that_cannot_be_placed_is_kept_with_the_reason(tmp_path):
    library = _library(tmp_path)
    trace = _hand_trace(tmp_path, library, [_traced("tracelib/Top.v", "TraceLib.Top.no_such_lemma", 27)])
    (problem,) = load_benchmark("coq-library", "random/test", trace).problems
    assert problem.name == "TraceLib.Top.no_such_lemma"
    assert "cannot be placed in its file: Top.v: no theorem named TraceLib.Top.no_such_lemma" in problem.dataset_note


def test_the_sample_is_seeded_and_the_same_on_every_load(tmp_path):
    library = _library(tmp_path)
    many = [
        _traced(f"tracelib/{f}", name, line) for f, name, line in [
            ("Top.v", "TraceLib.Top.double_pos", 5), ("Top.v", "TraceLib.Top.shades", 13),
            ("Top.v", "TraceLib.Top.split_both", 20), ("Top.v", "TraceLib.Top.later_fact", 27),
            ("Base.v", "TraceLib.Base.double_0", 8), ("Base.v", "TraceLib.Base.double_S", 11),
        ]
    ]
    trace = _hand_trace(tmp_path, library, many)
    draws = [[p.name for p in select_problems(load_benchmark("coq-library", "random/test", trace), 3, None, seed)]
             for seed in (0, 0, 1)]
    assert draws[0] == draws[1] and len(draws[0]) == 3
    assert draws[0] != draws[2]


def test_loader_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(InputFileError, match="not a Coq trace .* --benchmark leandojo"):
        load_benchmark("coq-library", "random/test", LEANDOJO)
    bare = _library(tmp_path / "bare", project_file=False)
    with pytest.raises(InputFileError, match=r"library tracelib has no _CoqProject .* write one binding it"):
        load_benchmark("coq-library", "random/test", _hand_trace(tmp_path / "bare", bare, HAND_TEST))
    library = _library(tmp_path)
    stray = _hand_trace(tmp_path, library, [_traced("elsewhere/X.v", "X.y", 1)])
    with pytest.raises(InputFileError, match=r"test.json: field '\[0\].file_path': elsewhere/X.v is in none of the libraries"):
        load_benchmark("coq-library", "random/test", stray)


def test_library_areas():
    assert library_area("theories/Arith/PeanoNat.v") == "Arith"
    assert library_area("theories/Reals/Cauchy/ConstructiveCauchyReals.v") == "Reals"
    assert library_area("tracelib/Base.v") == "Base"


def test_the_report_gives_pass_rates_by_library_area(tmp_path):
    from proofsmith.checker.types import Theorem
    from proofsmith.eval.benchmarks import Problem
    from proofsmith.eval.report import summarize, write_reports

    run = {"benchmark": "coq-library", "split": "random/test", "data": "trace", "data_sha256": "ab" * 32,
           "source_repo": "https://github.com/coq/coq", "source_commit": "V8.16.1", "prover": "reference",
           "budget_s": 60.0, "attempts": 1, "tactic_timeout_s": 10.0, "seed": 0}

    def record(name, area, verdict, reason=""):
        return {"name": name, "category": area, "usable": True, "verdict": verdict, "reason": reason,
                "proof": "Proof.\nlia.", "time_s": 0.5, "attempts": 1, "successes": int(verdict == "proved"),
                "place": {"project": "stdlib", "file": f"theories/{area}/F.v", "line": 3}}

    records = [record("a1", "Arith", "proved"), record("a2", "Arith", "proved"), record("r1", "Reals", "proved"),
               record("r2", "Reals", "failed", "the human proof was not accepted: Error: The reference foo was not found")]
    notes = ("4 traced proofs in random/test; ...", "1 left out: Instance 1")
    summary = summarize(records, run, [Problem(Theorem(r["name"], ""), "random/test", r["category"]) for r in records],
                        category_label="library area", notes=notes)
    assert summary["by_category"]["Arith"]["pass_rate"] == 1.0 and summary["by_category"]["Reals"]["pass_rate"] == 0.5
    write_reports(tmp_path, summary, records)
    md = (tmp_path / "report.md").read_text()
    assert "## Pass rate by library area" in md and "| library area | problems | usable | proved | pass rate (95% interval) |" in md
    assert "| Reals | 2 | 2 | 1 | 1/2 = 50.0% [9.5%, 90.5%] |" in md
    assert "- 1 left out: Instance 1" in md
    assert "| failed | 0.5 | the human proof was not accepted: Error: The reference foo was not found | Proof. lia. |" in md
    assert "<h2>Pass rate by library area</h2>" in (tmp_path / "report.html").read_text()


# ---------------------------------------------------------------- the reference prover


def test_the_reference_prover_needs_a_human_proof():
    from proofsmith.checker.types import Theorem, Verdict
    from proofsmith.prover.base import Budget
    from proofsmith.prover.registry import PROVERS, make_prover, replays_reference, takes_model

    prover = make_prover("reference")
    assert "reference" in PROVERS and replays_reference("reference") and not takes_model("reference")
    assert not any(replays_reference(p) for p in PROVERS if p != "reference")
    result = prover.prove(Theorem("t", "Theorem t : True."), checker=None, budget=Budget())
    assert result.verdict is Verdict.ERROR and "no human proof" in result.reason


def test_eval_refuses_the_reference_prover_where_the_benchmark_has_no_proofs(tmp_path, capsys):
    out = tmp_path / "run"
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--prover", "reference", "--limit", "2", "--out", str(out)])
    assert err == ("proofsmith eval: --prover reference replays the benchmark's own proofs, and minif2f-coq test "
                   "has none (coq-library has them)")
    assert not out.exists()


# ---------------------------------------------------------------- check --project: input errors


def _input(tmp_path: Path, *lines: dict) -> Path:
    path = tmp_path / "proofs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_check_a_theorem_named_by_its_file_needs_a_project(tmp_path, capsys):
    path = _input(tmp_path, {"name": "later_fact", "file": "Top.v", "proof": "reflexivity."})
    assert usage_error(capsys, ["check", "--no-project", str(path)]) == (
        f"proofsmith check: {path}:1: field 'file': a theorem named by its file needs --project DIR|stdlib "
        "(the project the file is in)"
    )


def test_check_names_the_line_of_a_file_or_theorem_the_project_does_not_have(tmp_path, capsys):
    library = _library(tmp_path)
    good = {"name": "later_fact", "file": "Top.v", "proof": "reflexivity."}
    path = _input(tmp_path, good, {"name": "later_fact", "file": "Nope.v", "proof": "reflexivity."})
    assert usage_error(capsys, ["check", "--project", str(library), str(path)]) == (
        f"proofsmith check: {path}:2: Nope.v: no such file in project {library.resolve()}"
    )
    path = _input(tmp_path, good, good, {"name": "TraceLib.Top.no_such_lemma", "file": "Top.v", "proof": "auto."})
    assert usage_error(capsys, ["check", "--project", str(library / "_CoqProject"), str(path)]) == (
        f"proofsmith check: {path}:3: Top.v: no theorem named TraceLib.Top.no_such_lemma"
    )
    path = _input(tmp_path, {"name": "later_fact", "file": "Top.v"})
    assert usage_error(capsys, ["check", "--project", str(library), str(path)]) == f"proofsmith check: {path}:1: field 'proof': missing"
    bare = _library(tmp_path / "bare", project_file=False)
    path = _input(tmp_path, good)
    assert "no such project file" in usage_error(capsys, ["check", "--project", str(bare), str(path)])


@pytest.mark.coq
def test_check_project_stdlib_names_a_missing_stdlib_file_by_line(tmp_path, capsys):
    path = _input(tmp_path, {"name": "x", "file": "theories/Nope/Nope.v", "proof": "auto."})
    assert usage_error(capsys, ["check", "--project", "stdlib", str(path)]).startswith(
        f"proofsmith check: {path}:1: theories/Nope/Nope.v: no such file in the stdlib"
    )
    path = _input(tmp_path, {"name": "x", "file": "Bool/Bool.v", "proof": "auto."})
    assert "a stdlib file is named from its repository root, e.g. theories/Arith/PeanoNat.v" in usage_error(
        capsys, ["check", "--project", "stdlib", str(path)])


# ---------------------------------------------------------------- against real Coq


@pytest.mark.coq
def test_check_project_stdlib_proves_in_the_file_and_sees_only_what_is_above(tmp_path, capsys):
    path = _input(
        tmp_path,
        # diff_true_false stands above diff_false_true in theories/Bool/Bool.v
        {"name": "Coq.Bool.Bool.diff_false_true", "file": "theories/Bool/Bool.v",
         "proof": "intro H. apply diff_true_false. symmetry. exact H."},
        {"name": "diff_true_false", "file": "theories/Bool/Bool.v",
         "proof": "intro H. apply diff_false_true. symmetry. exact H."},
    )
    out = tmp_path / "out.jsonl"
    assert main(["check", "--project", "stdlib", "--workers", "1", str(path), "--out", str(out)]) == 0
    above, below = (json.loads(line) for line in out.read_text().splitlines())
    assert above["name"] == "Coq.Bool.Bool.diff_false_true" and above["verdict"] == "proved", above
    assert below["name"] == "diff_true_false" and below["verdict"] == "failed", below  # named as the input named it
    assert "diff_false_true" in below["reason"] and "not found" in below["reason"]


@pytest.fixture(scope="module")
def traced_library(tmp_path_factory):
    from proofsmith.data_synth.trace.libraries import from_folder
    from proofsmith.data_synth.trace.runner import trace

    tmp = tmp_path_factory.mktemp("coq_library")
    library = _library(tmp, compiled=True)
    out = tmp / "trace"
    trace([from_folder(library, "TraceLib")], out, workers=1, progress=False)
    return library, out


@pytest.mark.coq
def test_check_project_folder_proves_a_library_theorem_in_its_file(traced_library, tmp_path):
    library, _ = traced_library
    path = _input(tmp_path, {"name": "TraceLib.Top.later_fact", "file": "Top.v", "proof": "rewrite double_S, double_0. reflexivity."},
                  {"name": "TraceLib.Top.shades", "file": "Top.v", "proof": "apply later_fact."})
    out = tmp_path / "out.jsonl"
    assert main(["check", "--project", str(library), "--workers", "1", str(path), "--out", str(out)]) == 0
    proved, later = (json.loads(line) for line in out.read_text().splitlines())
    assert proved["verdict"] == "proved", proved
    assert later["verdict"] == "failed" and "later_fact" in later["reason"], later


@pytest.mark.coq
def test_the_reference_prover_proves_every_traced_theorem_of_the_library_in_context(traced_library):
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.prover.base import Budget
    from proofsmith.prover.registry import make_prover

    _, out = traced_library
    problems = {}
    for split in ("random/train", "random/val", "random/test"):
        bench = load_benchmark("coq-library", split, out)
        problems.update({p.name: p for p in bench.problems})
    assert len(problems) == 11  # every theorem of Base, Mid, Top and Other
    prover = make_prover("reference")
    with open_checker("coq", CheckerSettings(workers=1, timeout_s=60).with_load_path(bench.load_path)) as checker:
        results = {name: prover.prove(p.theorem, checker, Budget(wall_s=60), reference=p.reference_proof)
                   for name, p in problems.items()}
    missed = {name: r.reason for name, r in results.items() if not r.proved}
    assert not missed, missed


@pytest.mark.coq
def test_eval_reference_on_a_traced_split_records_places_and_areas(traced_library, tmp_path):
    _, trace = traced_library
    out = tmp_path / "run"
    argv = ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/train", "--prover", "reference",
            "--limit", "5", "--seed", "0", "--workers", "2", "--budget-s", "60", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 5
    for r in records:
        assert r["verdict"] == "proved" and r["usable"], r
        assert r["prover"] == "reference" and r["proof"].startswith("Proof.")
        assert r["place"]["file"] == r["category"] + ".v" and r["place"]["line"] >= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["category_label"] == "library area" and summary["pass_rate"] == 1.0
    assert "## Pass rate by library area" in (out / "report.md").read_text()
    # the same command resumes with nothing to do
    assert main(argv) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 5
