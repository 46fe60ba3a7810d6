"""The ablation table: one row per arm and round, read from the runs' metrics.jsonl.

    .venv/bin/python -m proofsmith.iterate.ablation runs/iterate-cpu-a runs/iterate-cpu-b runs/iterate-cpu

Per round: the pool proved so far (cumulative), the round's new proofs, the conjecture funnel, the memory's
size after the round, and each held-out set's count with its 95% interval. Arms should share seeds and
budgets (one config per arm, iterate-cpu-{a,b}.toml and iterate-cpu.toml); the table says what each run's
config asked for, so a mismatch shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

from proofsmith.formats.json_files import read_json
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.metrics import read_metrics

FUNNEL = ("generated", "well_formed", "new", "proved", "kept")


def ablation_rows(run_dirs: list[Path]) -> tuple[list[str], list[list[str]]]:
    rows, labels = [], []
    runs = [(d, read_metrics(RunLayout(d))) for d in run_dirs]
    for _, metrics in runs:
        for m in metrics:
            labels += [k for k in m.heldout if k not in labels]
    header = ["arm", "round", "pool proved (cumulative)", "new proofs", *(f"funnel {s}" for s in FUNNEL),
              "memory steps", *(f"held-out {lab}" for lab in labels)]
    for run_dir, metrics in runs:
        config = RunLayout(run_dir).config
        budget = read_json(config).get("prover", {}).get("budget_s") if config.is_file() else None
        arm = f"{run_dir.name} ({budget:g} s)" if budget is not None else run_dir.name
        for m in sorted(metrics, key=lambda m: m.round):
            held = [v.cell() if (v := m.heldout.get(lab)) else "-" for lab in labels]
            pool = f"{m.cumulative_dataset_proved}/{m.cumulative_dataset_attempted}" if m.round else "-"
            funnel = [str(m.funnel.get(s, "-")) if m.round else "-" for s in FUNNEL]
            rows.append([arm, str(m.round), pool, str(m.new_proofs), *funnel,
                         str(m.memory.get("steps_after", "-")), *held])
    return header, rows


def ablation_markdown(run_dirs: list[Path]) -> str:
    header, rows = ablation_rows(run_dirs)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dirs = [Path(a) for a in args]
    missing = [str(d) for d in dirs if not RunLayout(d).metrics.is_file()]
    if not dirs or missing:
        print(f"usage: python -m proofsmith.iterate.ablation RUN_DIR...; no metrics.jsonl in: {', '.join(missing)}",
              file=sys.stderr)
        return 2
    print(ablation_markdown(dirs), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
