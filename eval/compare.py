"""Two or more eval runs of the same benchmark side by side: what researchers do all day.

    comparison = compare_runs([Path("runs/a"), Path("runs/b")])
    write_comparison(comparison, Path("runs/compare-a-vs-b"))   # compare.md, compare.html, compare.png

Runs are paired by problem: only problems every run finished and could use
(the statement compiles) are compared, and the report says how many that is
when the samples differ. For each run: its prover and options, the pass rate
on the shared problems with its 95% Wilson interval; for each later run
against the first (A): the problems proved by both, by A only, by it only,
and the exact McNemar test on the ones proved by one only. The per-problem
table lists every shared problem's verdicts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofsmith.eval.proportions import McNemar, error_bars, mcnemar_exact, rate_text
from proofsmith.eval.report import HTML_STYLE, figure_png, html_image, html_table, options_text
from proofsmith.eval.runner import RESULTS, RUN_CONFIG
from proofsmith.formats.run_records import ResultsFileError, RunRecord, read_results

COMPARE_MD = "compare.md"
COMPARE_HTML = "compare.html"
COMPARE_PNG = "compare.png"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class CompareError(ValueError):
    """Runs that cannot be compared (a folder that is no run, different benchmarks, nothing shared)."""


@dataclass(frozen=True)
class Run:
    letter: str
    folder: Path
    identity: dict[str, Any]  # run.json
    records: dict[str, RunRecord]  # by problem name

    @property
    def title(self) -> str:
        """The prover and its options, and the decision procedures loaded (the benchmark is the comparison's own)."""
        options = options_text(self.identity.get("prover_options"))
        procedures = self.identity.get("decision_procedures")
        return (f"{self.identity.get('prover', '?')}" + (f" ({options})" if options else "")
                + (f" + decision procedures {','.join(procedures)} where sound" if procedures else ""))

    def proved(self, name: str) -> bool:
        return self.records[name]["verdict"] == "proved"


@dataclass(frozen=True)
class Pair:
    """A later run against the first, on the shared problems."""

    a: Run
    b: Run
    both: tuple[str, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    neither: tuple[str, ...]
    test: McNemar


@dataclass(frozen=True)
class Comparison:
    runs: tuple[Run, ...]
    shared: tuple[str, ...]  # problems every run finished and could use, sorted
    left_out: dict[str, int]  # run letter -> its finished, usable problems that are not shared
    pairs: tuple[Pair, ...]

    def proved(self, run: Run) -> int:
        return sum(run.proved(name) for name in self.shared)


def load_run(folder: Path, letter: str) -> Run:
    folder = Path(folder)
    if not (folder / RESULTS).is_file():
        raise CompareError(f"{folder}: no {RESULTS} (expected a run folder written by `proofsmith eval --out`)")
    config = folder / RUN_CONFIG
    try:
        identity = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
        records = {r["name"]: r for r in read_results(folder / RESULTS)}
    except (ResultsFileError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CompareError(f"{folder}: {exc}") from None
    if not identity:  # an older run folder: what every record repeats
        first = next(iter(records.values()), {})
        identity = {"benchmark": first.get("benchmark", "?"), "split": first.get("split", "?"),
                    "prover": first.get("prover", "?")}
    return Run(letter, folder, identity, records)


def compare_runs(folders: Sequence[Path]) -> Comparison:
    if len(folders) < 2:
        raise CompareError("give at least two run folders")
    if len(folders) > len(LETTERS):
        raise CompareError(f"at most {len(LETTERS)} runs at once")
    runs = tuple(load_run(folder, letter) for folder, letter in zip(folders, LETTERS))
    kinds = {(r.identity.get("benchmark"), r.identity.get("split")) for r in runs}
    if len(kinds) > 1:
        raise CompareError("the runs are of different benchmarks or splits: "
                           + "; ".join(f"{r.letter} {r.folder}: {r.identity.get('benchmark')} "
                                       f"{r.identity.get('split')}" for r in runs))
    usable = [{name for name, record in r.records.items() if record.get("usable")} for r in runs]
    shared = tuple(sorted(set.intersection(*usable)))
    if not shared:
        raise CompareError("no problem is finished and usable in every run: nothing to pair "
                           "(compare runs of the same sample: the same --limit, --seed or --problems)")
    left_out = {r.letter: len(names) - len(shared) for r, names in zip(runs, usable)}
    pairs = tuple(_pair(runs[0], other, shared) for other in runs[1:])
    return Comparison(runs, shared, left_out, pairs)


def _pair(a: Run, b: Run, shared: Sequence[str]) -> Pair:
    both = tuple(n for n in shared if a.proved(n) and b.proved(n))
    only_a = tuple(n for n in shared if a.proved(n) and not b.proved(n))
    only_b = tuple(n for n in shared if b.proved(n) and not a.proved(n))
    neither = tuple(n for n in shared if not a.proved(n) and not b.proved(n))
    return Pair(a, b, both, only_a, only_b, neither, mcnemar_exact(len(only_a), len(only_b)))


# ------------------------------------------------------------------ what is shown


def _verdict(run: Run, name: str) -> str:
    record = run.records[name]
    if record["verdict"] == "proved":
        return f"proved ({record.get('time_s', 0.0):.1f} s)"
    return record["verdict"]


def _class(comparison: Comparison, name: str) -> str:
    proved = [r.letter for r in comparison.runs if r.proved(name)]
    if len(comparison.runs) == 2:
        return {0: "neither", 2: "both"}.get(len(proved), f"only {proved[0]}" if proved else "neither")
    if not proved:
        return "none"
    return "all" if len(proved) == len(comparison.runs) else "+".join(proved)


def run_rows(comparison: Comparison) -> list[list[str]]:
    n = len(comparison.shared)
    rows = []
    for run in comparison.runs:
        budget = run.identity.get("budget_s")
        rows.append([run.letter, run.title, f"{budget:g} s" if isinstance(budget, (int, float)) else "?",
                     rate_text(comparison.proved(run), n), str(run.folder)])
    return rows


def pair_rows(comparison: Comparison) -> list[list[str]]:
    return [[f"{p.a.letter} vs {p.b.letter}", str(len(p.both)), str(len(p.only_a)), str(len(p.only_b)),
             str(len(p.neither)), f"{p.test.p_value:.3g}", p.test.describe(p.a.letter, p.b.letter)] for p in comparison.pairs]


PAIR_HEADER = ["pair", "both", "only first", "only second", "neither", "McNemar p (exact)", "reading"]
RUN_HEADER = ["run", "prover (options)", "budget", "pass rate on the shared problems (95% Wilson)", "folder"]


def problem_rows(comparison: Comparison) -> list[list[str]]:
    """Problems proved by some run but not all first (what tells the runs apart), then the others."""
    rows = [[name, _class(comparison, name), *(_verdict(r, name) for r in comparison.runs)]
            for name in comparison.shared]
    discordant = {"both", "all", "neither", "none"}
    return sorted(rows, key=lambda row: (row[1] in discordant, row[1], row[0]))


def _notes(comparison: Comparison) -> list[str]:
    notes = [f"{len(comparison.shared)} problems finished and usable in every run are compared"]
    left = {letter: n for letter, n in comparison.left_out.items() if n}
    if left:
        notes.append("left out because another run lacks them (not finished, or unusable there): "
                     + ", ".join(f"{letter}: {n}" for letter, n in left.items()))
    return notes


def markdown(comparison: Comparison) -> str:
    def table(header: list[str], rows: list[list[str]]) -> list[str]:
        clean = [[str(c).replace("|", "/") for c in row] for row in rows]
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in clean]

    benchmark = comparison.runs[0].identity
    lines = [f"# Comparison: {benchmark.get('benchmark')} {benchmark.get('split')}", ""]
    lines += [f"- {note}" for note in _notes(comparison)] + [""]
    lines += table(RUN_HEADER, run_rows(comparison)) + [""]
    lines += ["## Paired (each run against A)", ""] + table(PAIR_HEADER, pair_rows(comparison)) + [""]
    lines += [f"![pass rates]({COMPARE_PNG})", ""]
    lines += ["## Per problem", ""]
    lines += table(["problem", "proved by", *(f"{r.letter}" for r in comparison.runs)], problem_rows(comparison))
    return "\n".join(lines) + "\n"


def plot(comparison: Comparison) -> bytes:
    """Pass rates with their intervals, and for each pair the problems proved by both / one only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(comparison.shared)
    fig, (rates_ax, pairs_ax) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1.2]})
    letters = [r.letter for r in comparison.runs]
    rates = [100 * comparison.proved(r) / n for r in comparison.runs]
    errors = error_bars([(comparison.proved(r), n) for r in comparison.runs])
    bars = rates_ax.bar(letters, rates, yerr=errors, capsize=4, color="#4c72b0", ecolor="#333333")
    for bar, run in zip(bars, comparison.runs):
        rates_ax.annotate(f"{comparison.proved(run)}/{n}", (bar.get_x() + bar.get_width() / 2, 1),
                          ha="center", va="bottom", color="white", fontsize=9)
    rates_ax.set_ylim(0, 100)
    rates_ax.set_ylabel("pass rate (%), 95% Wilson interval")
    rates_ax.set_title(f"pass rate on {n} shared problems", fontsize=10)
    labels = [f"{p.a.letter} vs {p.b.letter}" for p in comparison.pairs]
    both = [len(p.both) for p in comparison.pairs]
    only_a = [len(p.only_a) for p in comparison.pairs]
    only_b = [len(p.only_b) for p in comparison.pairs]
    pairs_ax.barh(labels, both, color="#55a868", label="both")
    pairs_ax.barh(labels, only_a, left=both, color="#c44e52", label="first only")
    pairs_ax.barh(labels, only_b, left=[x + y for x, y in zip(both, only_a)], color="#dd8452", label="second only")
    for y, p in enumerate(comparison.pairs):
        pairs_ax.annotate(f"p = {p.test.p_value:.2g}", (len(p.both) + len(p.only_a) + len(p.only_b), y),
                          xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    pairs_ax.set_xlim(0, max(1, max(x + y + z for x, y, z in zip(both, only_a, only_b))) * 1.25)
    pairs_ax.set_xlabel("problems proved")
    pairs_ax.set_title("paired: proved by both / one only (exact McNemar p)", fontsize=10)
    pairs_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    pairs_ax.invert_yaxis()
    return figure_png(fig)


def html_report(comparison: Comparison, png: bytes) -> str:
    e = html.escape
    benchmark = comparison.runs[0].identity
    title = f"Comparison: {benchmark.get('benchmark')} {benchmark.get('split')}"
    parts = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>{e(title)}</title>", HTML_STYLE,
             "<style>img{max-width:100%}</style></head><body>", f"<h1>{e(title)}</h1>",
             "<ul>" + "".join(f"<li>{e(n)}</li>" for n in _notes(comparison)) + "</ul>",
             html_table(RUN_HEADER, run_rows(comparison)),
             "<h2>Paired (each run against A)</h2>", html_table(PAIR_HEADER, pair_rows(comparison)),
             html_image(png, "pass rates and paired counts"),
             "<h2>Per problem</h2>",
             html_table(["problem", "proved by", *(r.letter for r in comparison.runs)], problem_rows(comparison)),
             "</body></html>"]
    return "\n".join(parts)


def write_comparison(comparison: Comparison, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot(comparison)
    paths = {"markdown": out_dir / COMPARE_MD, "html": out_dir / COMPARE_HTML, "plot": out_dir / COMPARE_PNG}
    paths["plot"].write_bytes(png)
    paths["markdown"].write_text(markdown(comparison), encoding="utf-8")
    paths["html"].write_text(html_report(comparison, png), encoding="utf-8")
    return paths
