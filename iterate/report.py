"""runs/NAME/report.html (and report.md) of `proofsmith iterate`: per-round proved counts, the conjecture funnel, held-out pass rates.

Read from the run folder only (metrics.jsonl, round-R/funnel.json), so it can
be rewritten at any time, also while the run goes on. The plotting and HTML
helpers are eval.report's.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from proofsmith.eval.report import HTML_STYLE, figure_png, html_image, html_table
from proofsmith.formats.json_files import read_json, write_text_atomically
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.metrics import read_metrics
from proofsmith.iterate.records import Conjecture, MetricsLine, read_records

FUNNEL = ("generated", "well_formed", "new", "proved", "barely_provable", "kept")


def _finished_at(run_dir: Path, r: int) -> list[float]:
    path = RunLayout(run_dir).round(r).state
    if not path.is_file():
        return []
    return [v["finished_at"] for v in read_json(path).values() if isinstance(v, dict) and "finished_at" in v]


def wall_minutes(run_dir: Path, metrics: list[MetricsLine]) -> dict[int, float]:
    """Minutes each round took, from its stages' finish times (so resumes count the time actually spent
    between the end of the previous round and the end of this one); round 0: the time of its last run."""
    out = {}
    for m in metrics:
        r = m.round
        now, before = _finished_at(run_dir, r), _finished_at(run_dir, r - 1) if r else []
        state = RunLayout(run_dir).round(r).state
        started = read_json(state).get("started", {}).get("finished_at") if state.is_file() else None
        if started is not None and now:
            out[r] = round((max(now) - started) / 60, 1)
        elif r and now and before:
            out[r] = round((max(now) - max(before)) / 60, 1)
        else:
            out[r] = round(m.seconds_this_run / 60, 1)
    return out


def ill_formed_reasons(run_dir: Path, r: int) -> dict[str, int] | None:
    """Ill-formed conjectures by Coq's reason, classified again from the messages kept with them."""
    from collections import Counter

    from proofsmith.data_synth.conjecture import ill_formed_reason

    path = RunLayout(run_dir).round(r).conjectures
    if not path.is_file():
        return None
    rows = [c for c in read_records(path, Conjecture) if not c.well_formed]
    return dict(Counter(c.reason if c.reason == "empty" else ill_formed_reason(c.message) for c in rows))


def round_table(metrics: list[MetricsLine], minutes: dict[int, float] | None = None) -> tuple[list[str], list[list[Any]]]:
    labels = sorted({k for m in metrics for k in m.heldout})
    header = ["round", "attempted", "proved", "cumulative attempted", "cumulative proved", "pool proved (cumulative)",
              "new proofs",
              *(f"funnel: {s}" for s in FUNNEL), *(f"held-out {lab}" for lab in labels), "train loss (first -> last)",
              "minutes"]
    rows = []
    for m in metrics:
        held = [v.cell() if (v := m.heldout.get(lab)) else "-" for lab in labels]
        first, last = m.train_first_loss, m.train_last_loss
        loss = f"{first:.3f} -> {last:.3f}" if first is not None and last is not None else "-"
        pool = f"{m.cumulative_dataset_proved}/{m.cumulative_dataset_attempted}" if m.round else "-"
        rows.append([m.round, m.attempted, m.proved, m.cumulative_attempted, m.cumulative_proved, pool,
                     m.new_proofs, *(m.funnel.get(s, "-") if m.round else "-" for s in FUNNEL), *held, loss,
                     (minutes or {}).get(m.round, round(m.seconds_this_run / 60, 1))])
    return header, rows


def _plots(metrics: list[MetricsLine]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rounds = [m.round for m in metrics]
    images = {}
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(rounds, [m.cumulative_attempted for m in metrics], "o-", label="attempted (cumulative)")
    ax.plot(rounds, [m.cumulative_proved for m in metrics], "o-", label="proved (cumulative)")
    ax.bar(rounds, [m.new_proofs for m in metrics], alpha=0.4, label="new proofs this round")
    ax.set_xlabel("round")
    ax.set_ylabel("statements")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.set_title("proved statements per round")
    images["proved"] = figure_png(fig)

    self_play = [m for m in metrics if m.round > 0]
    if self_play:
        fig, ax = plt.subplots(figsize=(7, 3.4))
        width = 0.8 / max(len(self_play), 1)
        for i, m in enumerate(self_play):
            xs = [j + i * width for j in range(len(FUNNEL))]
            ax.bar(xs, [m.funnel.get(s, 0) for s in FUNNEL], width, label=f"round {m.round}")
        ax.set_xticks([j + width * (len(self_play) - 1) / 2 for j in range(len(FUNNEL))])
        ax.set_xticklabels([s.replace("_", " ") for s in FUNNEL], rotation=15)
        ax.set_ylabel("conjectures")
        ax.set_yscale("symlog")
        ax.legend(fontsize=8)
        ax.set_title("conjecture funnel")
        images["funnel"] = figure_png(fig)

    labels = sorted({k for m in metrics for k in m.heldout})
    if labels:
        fig, ax = plt.subplots(figsize=(7, 3.4))
        for lab in labels:
            pts = [(m.round, 100 * (m.heldout[lab].pass_rate or 0)) for m in metrics if lab in m.heldout]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=lab)
        ax.set_xlabel("round")
        ax.set_ylabel("pass rate (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.set_title("held-out pass rate (never trained on)")
        images["heldout"] = figure_png(fig)
    return images


def write_iterate_report(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    layout = RunLayout(run_dir)
    metrics = read_metrics(layout)
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>iterate {e(run_dir.name)}</title>", HTML_STYLE,
             "</head><body>", f"<h1>proofsmith iterate: {e(run_dir.name)}</h1>"]
    if not metrics:
        parts.append("<p>no round finished yet</p></body></html>")
        write_text_atomically(layout.report, "\n".join(parts))
        return layout.report
    header, rows = round_table(metrics, wall_minutes(run_dir, metrics))
    parts += ["<h2>Rounds</h2>", html_table(header, rows),
              "<p>Round 0 trains the starting model on the mutation corpus (conjecturer) and traced human steps "
              "(prover) and proves nothing; rounds 1.. prove a fresh slice of the pool plus their conjectures.</p>"]
    images = _plots(metrics)
    for key, alt in (("proved", "proved per round"), ("heldout", "held-out pass rate"), ("funnel", "conjecture funnel")):
        if key in images:
            parts.append(html_image(images[key], alt))
    md = [f"# proofsmith iterate: {run_dir.name}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    for m in metrics:
        r = m.round
        funnel_path = layout.round(r).funnel
        if not funnel_path.is_file():
            continue
        f = read_json(funnel_path)
        f["ill_formed"] = ill_formed_reasons(run_dir, r) or f.get("ill_formed")
        parts.append(f"<h2>Round {r}: conjecture funnel</h2>")
        parts.append(html_table(list(FUNNEL), [[f["counts"].get(s, 0) for s in FUNNEL]]))
        for title, table in (("ill-formed, by Coq's reason", f.get("ill_formed")), ("well-formed but not new", f.get("not_new")),
                             ("dropped by selection", f.get("dropped"))):
            if table:
                parts.append(f"<p><b>{e(title)}</b>: " + e(", ".join(f"{k} {v}" for k, v in sorted(table.items(), key=lambda kv: -kv[1]))) + "</p>")
        for stage, examples in (f.get("examples") or {}).items():
            if examples:
                parts.append(f"<h3>examples: {e(stage)}</h3>")
                cols = sorted({k for x in examples for k in x}, key=lambda k: ["name", "seed", "lemma", "statement"].index(k)
                              if k in ("name", "seed", "lemma", "statement") else 9)
                parts.append(html_table(cols, [[x.get(c, "") for c in cols] for x in examples]))
        md += ["", f"Round {r} funnel: " + ", ".join(f"{s} {f['counts'].get(s, 0)}" for s in FUNNEL)]
        if f.get("ill_formed"):
            md.append("ill-formed by Coq's reason: " + ", ".join(
                f"{k} {v}" for k, v in sorted(f["ill_formed"].items(), key=lambda kv: -kv[1])))
    parts.append("</body></html>")
    write_text_atomically(layout.report, "\n".join(parts))
    write_text_atomically(layout.report_md, "\n".join(md) + "\n")
    return layout.report
