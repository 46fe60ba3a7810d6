"""Summaries and reports from result records (the runner's own output format)."""

import json

import pytest

from proofsmith.checker.types import Theorem
from proofsmith.eval.benchmarks import Problem
from proofsmith.eval.report import headline, summarize, write_reports

RUN = {
    "benchmark": "minif2f-coq", "split": "test", "data": None, "data_sha256": "4c1a89",
    "source_repo": "LLM4Rocq/miniF2F-rocq", "source_commit": "b60aff", "prover": "portfolio",
    "budget_s": 20.0, "attempts": 4, "tactic_timeout_s": 10.0, "seed": 0,
}
CHECKER = {"backend": "coq", "version": "8.16.1", "prelude": "From Coq Require Import Lia."}


def _problem(name):
    return Problem(Theorem(name, f"Theorem {name} : True."), "test", name.split("_")[0])


def _record(name, verdict, successes=0, usable=True, time_s=1.0, reason=""):
    return {"name": name, "split": "test", "category": name.split("_")[0], "usable": usable, "verdict": verdict,
            "reason": reason, "proof": "lia." if verdict == "proved" else None, "time_s": time_s,
            "attempts": 4 if usable else 0, "successes": successes, "model": "none", "checker": CHECKER}


@pytest.fixture
def records():
    return [
        _record("mathd_1", "proved", successes=4, time_s=0.5),
        _record("mathd_2", "proved", successes=1, time_s=3.0),
        _record("mathd_3", "failed"),
        _record("amc_1", "timeout"),
        _record("amc_2", "error", usable=False, reason="mathd: statement does not compile: Error: bad"),
    ]


def test_the_denominator_is_the_usable_problems_and_unusable_ones_are_listed(records):
    selected = [_problem(r["name"]) for r in records] + [_problem("imo_1")]
    s = summarize(records, RUN, selected)
    assert (s["selected"], s["finished"], s["usable"], s["proved"]) == (6, 5, 4, 2)
    assert s["pass_rate"] == 0.5
    assert (s["failed"], s["timeout"], s["error"]) == (1, 1, 0)
    assert s["unusable_count"] == 1 and s["unusable"][0]["name"] == "amc_2"
    assert "statement does not compile" in s["unusable"][0]["reason"]
    assert s["pending"] == ["imo_1"] and not s["complete"]
    assert s["by_category"]["mathd"] == {"problems": 3, "usable": 3, "proved": 2, "pass_rate": 0.6667}
    assert s["by_category"]["amc"] == {"problems": 2, "usable": 1, "proved": 0, "pass_rate": 0.0}
    assert s["checker"] == CHECKER
    line = headline(s)
    assert "proved 2/4 usable (50.0%)" in line and "1 unusable" in line and "1 of 6 not finished" in line


def test_pass_at_k_uses_the_unbiased_estimator(records):
    s = summarize(records, RUN, [_problem(r["name"]) for r in records])
    # usable: (4,4), (4,1), (4,0), (4,0): pass@1 = (1 + 1/4) / 4, pass@4 = 2/4
    assert s["pass_at_k"] == {"1": pytest.approx(0.3125), "2": pytest.approx((1 + 0.5) / 4), "4": 0.5}
    assert s["time_to_proof_s"]["median"] == pytest.approx(1.75)


def test_reports_are_written_with_embedded_plots(tmp_path, records):
    s = summarize(records, RUN, [_problem(r["name"]) for r in records])
    write_reports(tmp_path, s, records)
    assert json.loads((tmp_path / "summary.json").read_text())["pass_rate"] == 0.5
    md = (tmp_path / "report.md").read_text()
    assert "LLM4Rocq/miniF2F-rocq @ b60aff" in md and "coq 8.16.1" in md and "portfolio (model: none)" in md
    assert "| amc_2 |" in md and "pass@4" in md
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    for png in ("pass_rate_by_source.png", "time_to_proof.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_empty_run_still_reports(tmp_path):
    s = summarize([], RUN, [_problem("mathd_1")])
    assert s["pass_rate"] is None and s["pending"] == ["mathd_1"]
    write_reports(tmp_path, s, [])
    assert "n/a" in (tmp_path / "report.md").read_text()


def test_reports_list_the_failed_and_timed_out_problems_with_their_reasons(tmp_path, records):
    records[2]["reason"] = "search exhausted: 12 nodes, no proof"
    records[3]["reason"] = "budget of 20 s spent <in search>"
    s = summarize(records, RUN, [_problem(r["name"]) for r in records])
    write_reports(tmp_path, s, records)
    html = (tmp_path / "report.html").read_text()
    assert "Not proved (2: failed, timed out or error)" in html
    assert "<td>amc_1</td><td>timeout</td><td>1.0</td><td>budget of 20 s spent &lt;in search&gt;</td>" in html
    assert "<td>mathd_3</td><td>failed</td><td>1.0</td><td>search exhausted: 12 nodes, no proof</td>" in html
    md = (tmp_path / "report.md").read_text()
    assert "| mathd_3 | failed | 1.0 | search exhausted: 12 nodes, no proof |" in md


def _plotted_axes(monkeypatch) -> list:
    """The axes of every figure the report draws, kept when the report closes them."""
    import matplotlib.pyplot as plt

    axes: list = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (axes.extend(fig.axes), close(fig)))
    return axes


def test_the_time_to_proof_plot_counts_in_whole_problems(tmp_path, records, monkeypatch):
    axes = _plotted_axes(monkeypatch)
    s = summarize(records, RUN, [_problem(r["name"]) for r in records])
    write_reports(tmp_path, s, records)
    time_axis = next(ax for ax in axes if ax.get_ylabel() == "problems proved")
    ticks = [t for t in time_axis.get_yticks() if time_axis.get_ylim()[0] <= t <= time_axis.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert max(ticks) == 2  # both proved problems are on the scale


def test_with_nothing_proved_the_report_says_so_instead_of_empty_plots(tmp_path, records):
    unproved = [r | {"verdict": "failed", "successes": 0} if r["usable"] else r for r in records]
    s = summarize(unproved, RUN, [_problem(r["name"]) for r in records])
    (tmp_path / "time_to_proof.png").write_bytes(b"left by an earlier report")
    write_reports(tmp_path, s, unproved)
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png" not in html
    assert html.count("no problem proved (4 usable, 5 of 5 finished)") == 2
    md = (tmp_path / "report.md").read_text()
    assert "](time_to_proof.png)" not in md and md.count("no problem proved") == 2
    assert not (tmp_path / "time_to_proof.png").exists() and not (tmp_path / "pass_rate_by_source.png").exists()
