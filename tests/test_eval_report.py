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
    assert s["by_category"]["mathd"] == {"problems": 3, "usable": 3, "proved": 2, "pass_rate": 0.6667,
                                         "pass_rate_ci95": [0.2077, 0.9385]}
    assert s["by_category"]["amc"] == {"problems": 2, "usable": 1, "proved": 0, "pass_rate": 0.0,
                                       "pass_rate_ci95": [0.0, 0.7935]}
    assert s["pass_rate_ci95"] == [0.15, 0.85]
    assert s["checker"] == CHECKER
    line = headline(s)
    assert "proved 2/4 usable (50.0%), 95% interval [15.0%, 85.0%]" in line
    assert "1 unusable" in line and "1 of 6 not finished" in line


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


def test_reports_list_the_failed_and_timed_out_problems_with_where_why_and_the_rejected_proof(tmp_path, records):
    from dataclasses import replace

    from proofsmith.checker.types import Place, Source

    records[2]["reason"] = "the soundness guard rejected the prover's proof: failed: admit"
    records[2]["proof"] = "intros.\n  admit."
    records[3]["reason"] = "budget of 20 s spent <in search>"
    selected = [_problem(r["name"]) for r in records]
    selected[2] = replace(selected[2], theorem=replace(selected[2].theorem, place=Place("stdlib", "theories/M.v", 12)))
    selected[3] = replace(selected[3], theorem=replace(selected[3].theorem, source=Source("r", "c", "Valid/amc_1.v")))
    s = summarize(records, RUN, selected)
    write_reports(tmp_path, s, records)
    html = (tmp_path / "report.html").read_text()
    assert "Not proved (2: failed, timed out or error)" in html
    assert ("<td>amc_1</td><td>Valid/amc_1.v</td><td>timeout</td><td>1.0</td><td>budget of 20 s spent &lt;in search&gt;"
            "</td><td>none (the prover found no proof to check)</td>") in html
    assert ("<td>mathd_3</td><td>theories/M.v:12</td><td>failed</td><td>1.0</td><td>the soundness guard rejected the "
            "prover&#x27;s proof: failed: admit</td><td>intros. admit.</td>") in html
    md = (tmp_path / "report.md").read_text()
    assert "| mathd_3 | theories/M.v:12 | failed | 1.0 | the soundness guard rejected" in md
    assert md.rstrip().splitlines()[-1].endswith("| none (the prover found no proof to check) |") or \
        "| intros. admit. |" in md


def test_the_title_and_settings_carry_the_prover_options_and_an_empty_prelude_is_named(tmp_path, records):
    run = {**RUN, "prover_options": {"hammer": True, "memory": ".cache/trace/stdlib"}}
    for r in records:
        r["checker"] = {**CHECKER, "prelude": ""}
    s = summarize(records, run, [_problem(r["name"]) for r in records])
    write_reports(tmp_path, s, records)
    html = (tmp_path / "report.html").read_text()
    assert "<h1>minif2f-coq test: portfolio (hammer=true, memory=.cache/trace/stdlib)</h1>" in html
    assert "<td>prover options</td><td>hammer=true, memory=.cache/trace/stdlib</td>" in html
    assert "<td>tactic prelude</td><td>none</td>" in html
    assert "95% Wilson" in html and "2/3 = 66.7% [20.8%, 93.9%]" in html


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


def test_the_pass_rate_axis_stops_at_100_and_every_bar_has_its_interval(tmp_path, records, monkeypatch):
    axes = _plotted_axes(monkeypatch)
    records = [_record("mathd_1", "proved", successes=4), _record("amc_1", "failed")]  # 1/1 and 0/1
    write_reports(tmp_path, summarize(records, RUN, [_problem(r["name"]) for r in records]), records)
    rate_axis = next(ax for ax in axes if ax.get_ylabel().startswith("pass rate (%)"))
    assert rate_axis.get_ylim() == (0.0, 100.0)
    (error_bars,) = [c for c in rate_axis.containers if c.__class__.__name__ == "ErrorbarContainer"]
    segments = error_bars.lines[2][0].get_segments()
    lows = sorted(round(float(seg[0][1]), 1) for seg in segments)
    assert lows == [0.0, 20.7]  # 1/1 reaches down to 20.7%: one problem says little
