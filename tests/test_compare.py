"""`proofsmith compare` and eval.compare: runs paired by problem, rates with intervals, exact McNemar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofsmith.cli import main
from proofsmith.eval.compare import compare_runs
from proofsmith.eval.proportions import mcnemar_exact, wilson


def _run(folder: Path, prover: str, proved: set[str], names: list[str], options=None, unusable=()) -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({
        "benchmark": "minif2f-coq", "split": "test", "prover": prover, "prover_options": options or {},
        "budget_s": 10.0, "problems": names}))
    with (folder / "results.jsonl").open("w") as f:
        for name in names:
            verdict = "proved" if name in proved else "failed"
            f.write(json.dumps({"name": name, "split": "test", "category": "mathd", "usable": name not in unusable,
                                "verdict": verdict if name not in unusable else "error", "reason": "",
                                "proof": "lia." if verdict == "proved" else None, "time_s": 1.0, "attempts": 1,
                                "successes": int(verdict == "proved"), "prover": prover, "model": "none",
                                "checker": None}) + "\n")
    return folder


NAMES = [f"p{i:02d}" for i in range(20)]


def test_wilson_and_mcnemar_against_known_values():
    one = wilson(1, 1)
    assert round(one.low, 4) == 0.2065 and one.high == 1.0
    assert wilson(0, 10).low == 0.0 and round(wilson(0, 10).high, 4) == 0.2775
    assert wilson(0, 0) is None
    assert mcnemar_exact(0, 0).p_value == 1.0
    assert mcnemar_exact(0, 6).p_value == pytest.approx(2 / 64)  # 2 * (1/2)^6
    assert mcnemar_exact(1, 5).p_value == pytest.approx(2 * 7 / 64)
    assert mcnemar_exact(5, 5).p_value == 1.0


def test_compare_pairs_runs_by_problem(tmp_path, capsys):
    a = _run(tmp_path / "a", "portfolio", {"p00", "p01", "p02", "p03"}, NAMES)
    b = _run(tmp_path / "b", "portfolio", {"p00", "p01", "p04", "p05", "p06", "p07", "p08", "p09"}, NAMES,
             options={"hammer": True}, unusable=("p19",))
    comparison = compare_runs([a, b])
    assert len(comparison.shared) == 19 and comparison.left_out == {"A": 1, "B": 0}
    (pair,) = comparison.pairs
    assert (len(pair.both), len(pair.only_a), len(pair.only_b), len(pair.neither)) == (2, 2, 6, 9)
    assert pair.test.p_value == pytest.approx(2 * (1 + 8 + 28) / 256)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "19 shared problems" in out
    assert "A  4/19 = 21.1% [8.5%, 43.3%]" in out and "portfolio (hammer=true)" in out
    assert "A vs B: both 2, only A 2, only B 6, neither 9; 2 proved by A only, 6 by B only: exact McNemar" in out
    assert "p02" in out and "only A" in out and "p09" in out
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "<td>p04</td><td>only B</td><td>failed</td><td>proved (1.0 s)</td>" in html
    assert 'src="data:image/png;base64,' in html
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| A vs B | 2 | 2 | 6 | 9 |" in md
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_that_cannot_be_compared_are_named(tmp_path, capsys):
    a = _run(tmp_path / "a", "portfolio", set(), NAMES[:5])
    b = _run(tmp_path / "b", "portfolio", set(), NAMES[5:10])
    assert main(["compare", str(a), str(b)]) == 2
    assert "no problem is finished and usable in every run" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: no results.jsonl" in capsys.readouterr().err
    other = tmp_path / "c"
    _run(other, "portfolio", set(), NAMES[:5])
    config = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps({**config, "benchmark": "putnam-coq"}))
    assert main(["compare", str(a), str(other)]) == 2
    assert "different benchmarks or splits" in capsys.readouterr().err
