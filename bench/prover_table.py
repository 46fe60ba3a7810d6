"""The provers-side-by-side table: each prover row on each benchmark, same problems, same budget.

    .venv/bin/python bench/prover_table.py --out runs/table15 [--rows portfolio,memory] [--benchmarks random,minif2f] [--budget-s 20]

Every cell is one `proofsmith eval` run into OUT/<benchmark>-<row>; eval resumes, so a
killed table reruns only what is missing. The table (proved / usable, %) is printed as
markdown at the end and written to OUT/table.md. Rows and benchmarks are fixed below so
that every figure in the README comes from these exact commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from proofsmith.checker.child_process import popen
from proofsmith.formats.run_records import read_results

TRACE = ".cache/trace/stdlib"
# `proofsmith synth mutate --library stdlib --out .cache/mutants/stdlib.jsonl` (README, "Augmenting a corpus")
MUTANTS = ".cache/mutants/stdlib.jsonl"
SFT_MODEL = "runs/sft-stdlib-pr/final"
SFT_PROMPT_TOKENS = 384  # the prompt budget it was trained with (--max-prompt-tokens)
# Benchmark cells: name -> eval arguments (same sample for every row: eval draws --limit by --seed).
BENCHMARKS: dict[str, list[str]] = {
    "random": ["--benchmark", "coq-library", "--data", TRACE, "--split", "random/test", "--limit", "200"],
    "novel": ["--benchmark", "coq-library", "--data", TRACE, "--split", "novel_premises/test", "--limit", "200"],
    "minif2f": ["--benchmark", "minif2f-coq", "--split", "valid", "--limit", "100"],
}
BENCHMARK_TITLES = {
    "random": "stdlib random/test (200)",
    "novel": "stdlib novel_premises/test (200)",
    "minif2f": "miniF2F-Coq valid (100)",
}

# Rows: name -> (title, eval arguments). The tactic memory holds the stdlib trace's train split of
# the strategy under test (coq-library) and what the run proves; miniF2F uses the random strategy's.
ROWS: dict[str, tuple[str, list[str]]] = {
    "portfolio": ("portfolio", ["--prover", "portfolio"]),
    "portfolio-hammer": ("portfolio + hammer", ["--prover", "portfolio", "--prover-option", "hammer=true"]),
    "model-free": ("model-free search", ["--prover", "model-free-search"]),
    "memory": ("tactic memory", ["--prover", "memory-search", "--prover-option", f"memory={TRACE}"]),
    "memory-hammer": (
        "tactic memory + hammer",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "hammer=true"],
    ),
    # Premise slots (prover.premise_slots): remembered tactics' premise arguments refilled with the
    # accessible premises whose statements embed nearest the goal.
    "memory-slots": (
        "tactic memory + premise slots",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true"],
    ),
    # Synthetic theorems in the memory (prover.memory_mutants): + the verified mutants of train theorems
    # whose statements restate no val or test theorem of the strategy under test.
    "memory-mutants": (
        "tactic memory + mutants",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", f"memory_mutants={MUTANTS}"],
    ),
    # Decision procedures in context (prover.decision_procedures): lia and lra Required inside each
    # library theorem's proof, right after its statement, where the leak check on the trace's import
    # graph finds it sound (Lia's and Lra's libraries are neither the theorem's file nor depend on it).
    "memory-dp": (
        "tactic memory + decision procedures (lia, lra) where sound",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--decision-procedures", "lia,lra"],
    ),
    # The best combination measured: premise slots and decision procedures where sound, together.
    "memory-slots-dp": (
        "tactic memory + premise slots + decision procedures where sound",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true",
         "--decision-procedures", "lia,lra"],
    ),
    # The slots' templates also split into one-premise steps (PremiseSlot.single_step): `rewrite X.`
    # from a remembered `now rewrite A, B by lia.`, the remembered name among the fillers.
    "memory-slots-single": (
        "tactic memory + premise slots with single steps",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true",
         "--prover-option", "single_steps=true"],
    ),
    "memory-slots-single-dp": (
        "tactic memory + premise slots with single steps + decision procedures where sound",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true",
         "--prover-option", "single_steps=true", "--decision-procedures", "lia,lra"],
    ),
    # The chronological protocol (Tactician's, CoqHammer's): each theorem sees only the theorems
    # before it in library order, earlier test theorems' human proofs included (prover.tactic_memory).
    "memory-chronological": (
        "tactic memory, chronological protocol",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}",
         "--prover-option", "memory_protocol=chronological"],
    ),
    "memory-slots-chronological": (
        "tactic memory + premise slots, chronological protocol",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true",
         "--prover-option", "memory_protocol=chronological"],
    ),
    "memory-slots-dp-chronological": (
        "tactic memory + premise slots + decision procedures where sound, chronological protocol",
        ["--prover", "memory-search", "--prover-option", f"memory={TRACE}", "--prover-option", "premise_slots=true",
         "--decision-procedures", "lia,lra", "--prover-option", "memory_protocol=chronological"],
    ),
    # The model of `proofsmith train generator TRACE --proof-retrieval --out runs/sft-stdlib-pr
    # --max-prompt-tokens 384 ...` (README, "Provers side by side"), decoded by CTranslate2 int8 (search's default on CPU),
    # with the automation mixture as every `search`; memory_share=0: the memory only shows
    # similar proofs in the prompt, it proposes no tactics.
    "sft": (
        "fine-tuned SmolLM2 (CTranslate2) + proof retrieval",
        ["--prover", "search", "--model", SFT_MODEL, "--prover-option", f"memory={TRACE}",
         "--prover-option", "proof_retrieval=true", "--prover-option", "memory_share=0",
         "--prover-option", f"max_prompt_tokens={SFT_PROMPT_TOKENS}"],
    ),
    "memory-sft": (
        "tactic memory + fine-tuned SmolLM2 + proof retrieval",
        ["--prover", "search", "--model", SFT_MODEL, "--prover-option", f"memory={TRACE}",
         "--prover-option", "proof_retrieval=true", "--prover-option", f"max_prompt_tokens={SFT_PROMPT_TOKENS}"],
    ),
}

COMMON = ["--workers", "2", "--seed", "0", "--no-progress"]
BUDGET_S = 20.0  # the table's budget; --budget-s for a budget curve


def cell_dir(out: Path, benchmark: str, row: str) -> Path:
    return out / f"{benchmark}-{row}"


def _row_args(row: str, benchmark: str) -> list[str]:
    """A row's eval arguments on a benchmark: --decision-procedures only on coq-library (miniF2F's header
    prelude loads Lia and Lra already, so there the row runs as the plain memory)."""
    args = list(ROWS[row][1])
    if "--decision-procedures" in args and "coq-library" not in BENCHMARKS[benchmark]:
        at = args.index("--decision-procedures")
        del args[at:at + 2]
    return args


def run_cell(out: Path, benchmark: str, row: str, extra: list[str], budget_s: float = BUDGET_S) -> None:
    args = [sys.executable, "-m", "proofsmith.cli", "eval", *BENCHMARKS[benchmark], *_row_args(row, benchmark),
            *COMMON, "--budget-s", f"{budget_s:g}", *extra]
    args += ["--out", str(cell_dir(out, benchmark, row))]
    if f"memory={TRACE}" in ROWS[row][1] and benchmark == "minif2f":
        args += ["--prover-option", "memory_split=random"]
    print("+", " ".join(args[1:]), flush=True)
    # The eval dies with this script (SIGTERM, SIGKILL); it shares the terminal's Ctrl-C.
    with popen(args, start_new_session=False) as eval_run:
        if eval_run.wait():
            raise SystemExit(f"eval of {benchmark}-{row} exited with status {eval_run.returncode}; rerun to resume")


def cell_figure(out: Path, benchmark: str, row: str) -> str:
    summary = cell_dir(out, benchmark, row) / "summary.json"
    results = cell_dir(out, benchmark, row) / "results.jsonl"
    if not summary.exists():
        if not results.exists():
            return "–"
        # a cell still running (or stopped): what it has finished so far, marked as such
        records = read_results(results)
        proved = sum(r["verdict"] == "proved" for r in records)
        return f"{proved} of the first {len(records)} finished (unfinished run)"
    s = json.loads(summary.read_text())
    usable = s["usable"]
    return f"{s['proved']}/{usable} ({100 * s['proved'] / max(usable, 1):.1f}%)"


def table(out: Path, rows: list[str], benchmarks: list[str]) -> str:
    head = "| prover | " + " | ".join(BENCHMARK_TITLES[b] for b in benchmarks) + " |"
    rule = "|---" * (len(benchmarks) + 1) + "|"
    lines = [head, rule]
    for row in rows:
        lines.append(f"| {ROWS[row][0]} | " + " | ".join(cell_figure(out, b, row) for b in benchmarks) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/table15"))
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {', '.join(ROWS)}")
    p.add_argument("--benchmarks", default=",".join(BENCHMARKS), help=f"comma-separated, of {', '.join(BENCHMARKS)}")
    p.add_argument("--budget-s", type=float, default=BUDGET_S,
                   help="seconds a problem (the table is 20; other budgets give a budget curve: use another --out)")
    p.add_argument("--print-only", action="store_true", help="print the table of what has run, run nothing")
    p.add_argument("extra", nargs="*", help="more eval arguments after --, e.g. -- --prover-option ...")
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    benchmarks = [b for b in args.benchmarks.split(",") if b]
    for name, known in (("row", ROWS), ("benchmark", BENCHMARKS)):
        bad = [x for x in (rows if name == "row" else benchmarks) if x not in known]
        if bad:
            p.error(f"unknown {name} {', '.join(bad)}; choose from {', '.join(known)}")
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.print_only:
        for row in rows:
            for benchmark in benchmarks:
                run_cell(args.out, benchmark, row, args.extra, args.budget_s)
    text = table(args.out, rows, benchmarks)
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
