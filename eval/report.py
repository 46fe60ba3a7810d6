"""Summaries and human reports of a run: summary.json, report.md, report.html with plots.

The denominator of every pass rate is the number of usable problems: those
whose statement compiles on the installed checker. Unusable problems are
counted and listed with the checker's error, never dropped silently.
"""

from __future__ import annotations

import base64
import html
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from proofsmith.eval.benchmarks import Problem
from proofsmith.eval.passk import mean_pass_at_k, reported_ks
from proofsmith.eval.proportions import error_bars, rate_text, wilson

SUMMARY = "summary.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOT_BY_SOURCE = "pass_rate_by_source.png"
PLOT_TIME = "time_to_proof.png"

DENOMINATOR = "usable problems: those whose statement compiles on the installed checker"


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _interval(num: int, den: int) -> list[float] | None:
    """The 95% Wilson interval of num/den as [low, high] (None without a denominator)."""
    interval = wilson(num, den)
    return None if interval is None else [round(interval.low, 4), round(interval.high, 4)]


def options_text(options: Mapping[str, Any] | None) -> str:
    """A prover's options as the command line gives them: "hammer=true, memory=.cache/trace/stdlib"."""
    if not options:
        return ""
    return ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(options.items()))


def run_title(summary: Mapping[str, Any]) -> str:
    """What tells two runs apart: benchmark, split, prover and its options, decision procedures loaded."""
    options = options_text(summary.get("prover_options"))
    procedures = (summary.get("decision_procedures") or {}).get("requested")
    return (f"{summary['benchmark']} {summary['split']}: {summary['prover']}" + (f" ({options})" if options else "")
            + (f" + decision procedures {','.join(procedures)} where sound" if procedures else ""))


def _decision_procedures(records: Sequence[Mapping[str, Any]], run: Mapping[str, Any]) -> dict[str, Any]:
    """With --decision-procedures: for each procedure, on how many problems it was loaded, refused, and why
    (the most common reasons); {} for the strict row."""
    requested = run.get("decision_procedures")
    if not requested:
        return {}
    loaded: Counter[str] = Counter()
    refused: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        decided = r.get("decision_procedures") or {}
        loaded.update(decided.get("loaded", ()))
        for procedure, reason in (decided.get("refused") or {}).items():
            refused[procedure][reason] += 1
    return {"requested": list(requested),
            "loaded": {p: loaded[p] for p in requested},
            "refused": {p: sum(refused[p].values()) for p in requested},
            "refusal_reasons": {p: [{"reason": why, "problems": n} for why, n in refused[p].most_common(5)]
                                for p in requested if refused[p]}}


def _where(problem: Problem | None) -> str:
    """file:line of a problem's statement where the benchmark knows it (a file alone where not)."""
    if problem is None:
        return ""
    theorem = problem.theorem
    if theorem.place is not None:
        return f"{theorem.place.file}:{theorem.place.line}" if theorem.place.line else theorem.place.file
    if theorem.source is not None and theorem.source.path:
        return theorem.source.path
    return ""


def _distinct(records: Sequence[Mapping[str, Any]], key: str) -> Any:
    values = {json.dumps(r[key], sort_keys=True) for r in records if r.get(key) is not None}
    if not values:
        return None
    parsed = [json.loads(v) for v in sorted(values)]
    return parsed[0] if len(parsed) == 1 else parsed


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def html_image(png: bytes, alt: str) -> str:
    """An <img> with the PNG inline, so a report is one self-contained file."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


HTML_STYLE = ("<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
              "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}code{font-size:90%}</style>")


def summarize(
    records: Sequence[Mapping[str, Any]], run: dict[str, Any], selected: Sequence[Problem], *,
    category_label: str = "problem source", notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the reports show, from the result records and the run's identity.

    `category_label` says what the categories are (a problem source, a library
    area); `notes` are the benchmark's own (what its loader left out, and why).
    """
    done = {r["name"] for r in records}
    pending = [p.name for p in selected if p.name not in done]
    usable = [r for r in records if r.get("usable")]
    unusable = [r for r in records if not r.get("usable")]
    verdicts = Counter(r["verdict"] for r in usable)
    proved = [r for r in usable if r["verdict"] == "proved"]

    pass_at_k: dict[str, float] = {}
    attempts = {r["attempts"] for r in usable if r.get("attempts")}
    if usable and len(attempts) == 1:
        n = attempts.pop()
        counts = [(n, min(r.get("successes", 0), n)) for r in usable]
        # a usable problem the prover never attempted (prover failure) counts as 0 of n
        pass_at_k = {str(k): round(mean_pass_at_k(counts, k), 4) for k in reported_ks(n)}

    by_category: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r.get("category", "other")].append(r)
    for category in sorted(groups):
        rs = groups[category]
        u = sum(bool(r.get("usable")) for r in rs)
        p = sum(r["verdict"] == "proved" for r in rs if r.get("usable"))
        by_category[category] = {"problems": len(rs), "usable": u, "proved": p, "pass_rate": _rate(p, u),
                                 "pass_rate_ci95": _interval(p, u)}

    times = sorted(r["time_s"] for r in proved)
    time_to_proof = (
        {
            "median": round(statistics.median(times), 3),
            "mean": round(statistics.fmean(times), 3),
            "p90": round(times[min(len(times) - 1, int(0.9 * len(times)))], 3),
            "max": round(times[-1], 3),
        }
        if times
        else {}
    )
    return {
        "benchmark": run["benchmark"],
        "split": run["split"],
        "source_repo": run["source_repo"],
        "source_commit": run["source_commit"],
        "data": run["data"] or "bundled with proofsmith (eval/data)",
        "data_sha256": run["data_sha256"],
        "prover": run["prover"],
        "prover_options": dict(run.get("prover_options") or {}),
        "decision_procedures": _decision_procedures(records, run),
        "model": _distinct(records, "model"),
        "checker": _distinct(records, "checker"),
        "budget": {"wall_s": run["budget_s"], "attempts": run["attempts"], "tactic_timeout_s": run["tactic_timeout_s"]},
        "seed": run["seed"],
        "selected": len(selected),
        "finished": len(records),
        "pending": pending,
        "complete": not pending,
        "usable": len(usable),
        "denominator": DENOMINATOR,
        "proved": len(proved),
        "failed": verdicts.get("failed", 0),
        "timeout": verdicts.get("timeout", 0),
        "error": verdicts.get("error", 0),
        "pass_rate": _rate(len(proved), len(usable)),
        "pass_rate_ci95": _interval(len(proved), len(usable)),
        "interval": "95% Wilson score interval",
        "where": {p.name: _where(p) for p in selected if _where(p)},
        "in_file_context": any(p.theorem.place is not None for p in selected),
        "pass_at_k": pass_at_k,
        "category_label": category_label,
        "by_category": by_category,
        "notes": list(notes),
        "time_to_proof_s": time_to_proof,
        "prover_time_s": round(sum(r.get("time_s", 0.0) for r in records), 1),
        "unusable_count": len(unusable),
        "unusable": [{"name": r["name"], "reason": r["reason"]} for r in unusable],
    }


def headline(summary: dict[str, Any]) -> str:
    """One line: what was proved, out of what, with which prover and budget."""
    interval = wilson(summary["proved"], summary["usable"])
    pct = f"{100 * summary['proved'] / summary['usable']:.1f}%" if interval else "n/a"
    line = (
        f"{run_title(summary)} proved {summary['proved']}/{summary['usable']} usable ({pct})"
        + (f", 95% interval {interval.percent()}" if interval else "")
        + f", budget {summary['budget']['wall_s']:g} s"
    )
    if summary["unusable_count"]:
        line += f"; {summary['unusable_count']} unusable (statement does not compile here), listed in the report"
    if summary["pending"]:
        line += f"; {len(summary['pending'])} of {summary['selected']} not finished yet (rerun to resume)"
    return line


# Shown instead of the two plots when nothing was proved (both would be empty boxes).
NO_PROOF = "no problem proved"


def _no_proof_note(summary: dict[str, Any]) -> str:
    return f"{NO_PROOF} ({summary['usable']} usable, {summary['finished']} of {summary['selected']} finished)"


def _not_proved(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Usable problems that were not proved (failed, timeout, error), with the reason, by name."""
    return sorted((r for r in records if r.get("usable") and r["verdict"] != "proved"), key=lambda r: r["name"])


def _plots(out_dir: Path, summary: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """The two plots, written next to the reports; none when nothing was proved."""
    images: dict[str, bytes] = {}
    if not summary["proved"]:
        for name in (PLOT_BY_SOURCE, PLOT_TIME):  # from an earlier report of this run
            (out_dir / name).unlink(missing_ok=True)
        return images

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cats = [c for c, v in summary["by_category"].items() if v["usable"]]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.4 * len(cats)), 3.6))  # a library has dozens of areas
    rates = [100 * summary["by_category"][c]["pass_rate"] for c in cats]
    errors = error_bars([(summary["by_category"][c]["proved"], summary["by_category"][c]["usable"]) for c in cats])
    bars = ax.bar(cats, rates, color="#4c72b0", yerr=errors, capsize=3, ecolor="#333333")
    for bar, c in zip(bars, cats):
        v = summary["by_category"][c]
        inside = bar.get_height() > 85  # a label above a bar near 100% would leave the axes
        # beside the error bar, which runs up the bar's middle
        ax.annotate(f"{v['proved']}/{v['usable']}", (bar.get_x() + bar.get_width() / 4, bar.get_height()),
                    ha="center", va="top" if inside else "bottom", fontsize=8, color="white" if inside else "black",
                    xytext=(0, -2 if inside else 2), textcoords="offset points")
    ax.set_ylabel("pass rate (%), 95% Wilson interval")
    ax.set_ylim(0, 100)  # a rate: never above 100%
    ax.set_title(f"{run_title(summary)}: pass rate by {_category_label(summary)}", fontsize=10)
    plt.setp(ax.get_xticklabels(), rotation=45 if len(cats) > 12 else 20, ha="right")
    images[PLOT_BY_SOURCE] = figure_png(fig)

    times = sorted(r["time_s"] for r in records if r.get("usable") and r["verdict"] == "proved")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if times:
        ax.step([0.0] + times, range(len(times) + 1), where="post", color="#55a868")
    ax.set_xlabel("time to proof (s)")
    ax.set_ylabel("problems proved")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no fractional ticks
    ax.set_ylim(0, len(times) * 1.05)
    ax.set_title(f"proved within t seconds (budget {summary['budget']['wall_s']:g} s, {summary['usable']} usable)")
    ax.set_xlim(0, summary["budget"]["wall_s"])
    images[PLOT_TIME] = figure_png(fig)

    for name, data in images.items():
        (out_dir / name).write_bytes(data)
    return images


def _settings_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    checker = summary["checker"] or {}
    if isinstance(checker, list):
        checker_text = "; ".join(f"{c['backend']} {c['version']}" for c in checker) + " (several: the run was resumed on another checker)"
        prelude = "; ".join(sorted({c.get("prelude", "") for c in checker}))
    else:
        checker_text = f"{checker.get('backend', '?')} {checker.get('version', '?')}"
        prelude = checker.get("prelude", "")
    if not prelude:
        prelude = "none (in file context)" if summary.get("in_file_context") else "none"
    budget = summary["budget"]
    return [
        ("benchmark", f"{summary['benchmark']} ({summary['split']})"),
        ("source", f"{summary['source_repo']} @ {summary['source_commit']}"),
        ("data", f"{summary['data']} (sha256 {summary['data_sha256'][:16]})"),
        ("checker", checker_text),
        ("tactic prelude", prelude),
        ("prover", f"{summary['prover']} (model: {summary['model']})"),
        ("prover options", options_text(summary.get("prover_options")) or "none (the prover's defaults)"),
        *([("decision procedures", _procedures_text(summary["decision_procedures"]))]
          if summary.get("decision_procedures") else []),
        ("budget", f"{budget['wall_s']:g} s per problem, {budget['attempts']} attempt(s), tactic timeout {budget['tactic_timeout_s']:g} s"),
        ("seed", str(summary["seed"])),
        ("denominator", f"{summary['usable']} {DENOMINATOR}"),
        ("intervals", "95% Wilson score interval on every rate"),
    ]


def _procedures_text(procedures: Mapping[str, Any]) -> str:
    return "; ".join(f"{p}: loaded before {procedures['loaded'][p]} proofs, refused for {procedures['refused'][p]}"
                     for p in procedures["requested"]) + " (the leak check's reasons are in each result)"


def _category_label(summary: dict[str, Any]) -> str:
    return summary.get("category_label") or "problem source"


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def _markdown(summary: dict[str, Any], records: Sequence[Mapping[str, Any]], images: dict[str, bytes]) -> str:
    lines = [f"# {run_title(summary)}", "", f"**{headline(summary)}**", ""]
    lines += ["| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in _settings_rows(summary)]
    lines += ["", "## Verdicts (usable problems)", "", "| proved | failed | timeout | error | usable | unusable |", "|---|---|---|---|---|---|"]
    lines.append(
        f"| {summary['proved']} | {summary['failed']} | {summary['timeout']} | {summary['error']} | {summary['usable']} | {summary['unusable_count']} |"
    )
    if summary["pass_at_k"]:
        ks = list(summary["pass_at_k"])
        lines += ["", "## pass@k (unbiased estimator)", "", "| " + " | ".join(f"pass@{k}" for k in ks) + " |", "|" + "---|" * len(ks)]
        lines.append("| " + " | ".join(_pct(summary["pass_at_k"][k]) for k in ks) + " |")
    if summary.get("notes"):
        lines += ["", "## About the problems", ""] + [f"- {note}" for note in summary["notes"]]
    label = _category_label(summary)
    lines += ["", f"## Pass rate by {label}", ""]
    lines += [f"![pass rate by {label}]({PLOT_BY_SOURCE})" if PLOT_BY_SOURCE in images else _no_proof_note(summary), ""]
    lines += [f"| {label} | problems | usable | proved | pass rate (95% interval) |", "|---|---|---|---|---|"]
    for cat, v in summary["by_category"].items():
        lines.append(f"| {cat} | {v['problems']} | {v['usable']} | {v['proved']} | {rate_text(v['proved'], v['usable'])} |")
    lines += ["", "## Time to proof", "", f"![time to proof]({PLOT_TIME})" if PLOT_TIME in images else _no_proof_note(summary), ""]
    if summary["time_to_proof_s"]:
        t = summary["time_to_proof_s"]
        lines.append(f"median {t['median']} s, mean {t['mean']} s, p90 {t['p90']} s, max {t['max']} s")
    lines += ["", f"## Unusable problems ({summary['unusable_count']})", ""]
    if summary["unusable"]:
        lines += ["| problem | why |", "|---|---|"]
        for u in summary["unusable"]:
            lines.append(f"| {u['name']} | {' '.join(u['reason'].split()).replace('|', '/')[:300]} |")
    else:
        lines.append("none")
    proved = sorted((r for r in records if r.get("usable") and r["verdict"] == "proved"), key=lambda r: r["name"])
    lines += ["", f"## Proved ({len(proved)})", "", "| problem | time (s) | proof |", "|---|---|---|"]
    for r in proved:
        proof = " ".join((r.get("proof") or "").split()).replace("|", "\\|")
        lines.append(f"| {r['name']} | {r['time_s']} | `{proof[:200]}` |")
    not_proved = _not_proved(records)
    lines += ["", f"## Not proved ({len(not_proved)}: failed, timed out or error)", ""]
    if not_proved:
        lines += ["| problem | where | verdict | time (s) | why | rejected proof |", "|---|---|---|---|---|---|"]
        for r in not_proved:
            reason = " ".join((r.get("reason") or "").split()).replace("|", "/")[:300]
            rejected = _rejected(r).replace("|", "\\|")[:300]
            lines.append(f"| {r['name']} | {_record_where(summary, r)} | {r['verdict']} | {r.get('time_s', 0.0)} | "
                         f"{reason} | {rejected} |")
    else:
        lines.append("none")
    if summary["pending"]:
        lines += ["", f"## Not finished ({len(summary['pending'])})", "", ", ".join(summary["pending"])]
    return "\n".join(lines) + "\n"


def _rejected(record: Mapping[str, Any]) -> str:
    """The proof the checker rejected, on one line, or what there is instead."""
    proof = " ".join((record.get("proof") or "").split())
    return proof or "none (the prover found no proof to check)"


def _record_where(summary: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    place = record.get("place")
    if isinstance(place, dict) and place.get("file"):
        return f"{place['file']}:{place['line']}" if place.get("line") else str(place["file"])
    return (summary.get("where") or {}).get(record["name"], "")


def _html(summary: dict[str, Any], records: Sequence[Mapping[str, Any]], images: dict[str, bytes]) -> str:
    e = html.escape

    def img(name: str, alt: str) -> str:
        if name not in images:
            return f"<p><b>{e(_no_proof_note(summary))}</b></p>"
        return html_image(images[name], alt)

    table = html_table

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(run_title(summary))}</title>",
        HTML_STYLE,
        "</head><body>",
        f"<h1>{e(run_title(summary))}</h1>",
        f"<p><b>{e(headline(summary))}</b></p>",
        table(["setting", "value"], [list(r) for r in _settings_rows(summary)]),
        "<h2>Verdicts (usable problems)</h2>",
        table(["proved", "failed", "timeout", "error", "usable", "unusable"],
              [[summary["proved"], summary["failed"], summary["timeout"], summary["error"], summary["usable"], summary["unusable_count"]]]),
    ]
    if summary["pass_at_k"]:
        parts += ["<h2>pass@k (unbiased estimator)</h2>",
                  table([f"pass@{k}" for k in summary["pass_at_k"]], [[_pct(v) for v in summary["pass_at_k"].values()]])]
    if summary.get("notes"):
        parts += ["<h2>About the problems</h2>", "<ul>" + "".join(f"<li>{e(n)}</li>" for n in summary["notes"]) + "</ul>"]
    label = _category_label(summary)
    parts += [f"<h2>Pass rate by {e(label)}</h2>", img(PLOT_BY_SOURCE, f"pass rate by {label}"),
              table([label, "problems", "usable", "proved", "pass rate (95% interval)"],
                    [[c, v["problems"], v["usable"], v["proved"], rate_text(v["proved"], v["usable"])]
                     for c, v in summary["by_category"].items()]),
              "<h2>Time to proof</h2>", img(PLOT_TIME, "time to proof")]
    if summary["time_to_proof_s"]:
        t = summary["time_to_proof_s"]
        parts.append(f"<p>median {t['median']} s, mean {t['mean']} s, p90 {t['p90']} s, max {t['max']} s</p>")
    parts.append(f"<h2>Unusable problems ({summary['unusable_count']})</h2>")
    parts.append(table(["problem", "why"], [[u["name"], u["reason"]] for u in summary["unusable"]]) if summary["unusable"] else "<p>none</p>")
    proved = sorted((r for r in records if r.get("usable") and r["verdict"] == "proved"), key=lambda r: r["name"])
    parts.append(f"<h2>Proved ({len(proved)})</h2>")
    parts.append(table(["problem", "time (s)", "proof"], [[r["name"], r["time_s"], r.get("proof") or ""] for r in proved]))
    not_proved = _not_proved(records)
    parts.append(f"<h2>Not proved ({len(not_proved)}: failed, timed out or error)</h2>")
    parts.append(
        table(["problem", "where", "verdict", "time (s)", "why", "rejected proof"],
              [[r["name"], _record_where(summary, r), r["verdict"], r.get("time_s", 0.0), r.get("reason") or "",
                _rejected(r)] for r in not_proved])
        if not_proved else "<p>none</p>"
    )
    if summary["pending"]:
        parts.append(f"<h2>Not finished ({len(summary['pending'])})</h2><p>{e(', '.join(summary['pending']))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(out_dir: Path, summary: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    out_dir = Path(out_dir)
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1) + "\n")
    images = _plots(out_dir, summary, records)
    (out_dir / REPORT_MD).write_text(_markdown(summary, records, images))
    (out_dir / REPORT_HTML).write_text(_html(summary, records, images))
