"""The mutation funnel: how many theorems, candidates, checks, verified and unique mutants, per rule.

Stages, for each rule:
- theorems: parents Coq could open (their statement, products introduced);
- attempts: interactive steps asked of the checker (`rewrite Q`, `apply Q`, ...);
- candidates: steps that produced a new statement;
- checked: candidates with a statement new for their parent, sent to the
  guarded whole-proof check;
- verified: checked mutants whose proof the checker accepted;
- unique: verified mutants that duplicate (up to bound names and spacing)
  neither an earlier kept mutant nor a theorem of the source library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGES = ("theorems", "attempts", "candidates", "checked", "verified", "unique")


# Said with every funnel (issue 14, point 6): what a mutant's proof could see.
PARENT_CONTEXT = (
    "Parents are not opened in their own file context: each is restated after its file's "
    "requires and top-level imports, with the compiled library loaded, so a mutant's proof may use "
    "lemmas stated after its parent (proofsmith eval --benchmark coq-library opens theorems in context; "
    "mutants at a parent's place are the next step)."
)

@dataclass
class Funnel:
    rules: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    styles: dict[str, dict[str, int]] = field(default_factory=dict)
    parents_failed: int = 0
    parent_errors: dict[str, int] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    # Time the workers spent on the parents folded in so far, over every run
    # that wrote the log (the throughput figure that survives resumes).
    worker_seconds: float = 0.0

    def __post_init__(self) -> None:
        for rule in self.rules:
            self.counts.setdefault(rule, {s: 0 for s in STAGES})
            self.failures.setdefault(rule, {})
            self.rejected.setdefault(rule, {})
            self.styles.setdefault(rule, {})

    def add_parent(self, record: dict[str, Any]) -> None:
        """Fold in one line of the parents log (see mutation_run)."""
        self.worker_seconds += float(record.get("seconds") or 0.0)
        if record.get("error"):
            self.parents_failed += 1
            kind = _error_kind(record["error"])
            self.parent_errors[kind] = self.parent_errors.get(kind, 0) + 1
            return
        for rule, c in record.get("counts", {}).items():
            if rule not in self.counts:
                continue
            row = self.counts[rule]
            row["theorems"] += 1
            for stage in ("attempts", "candidates", "checked", "verified", "unique"):
                row[stage] += int(c.get(stage, 0))
            for table, name in ((self.failures, "failures"), (self.rejected, "rejected"), (self.styles, "styles")):
                for reason, n in c.get(name, {}).items():
                    table[rule][reason] = table[rule].get(reason, 0) + n

    def total(self) -> dict[str, int]:
        out = {s: sum(self.counts[r][s] for r in self.rules) for s in STAGES}
        out["theorems"] = max((self.counts[r]["theorems"] for r in self.rules), default=0)
        return out

    def to_json(self) -> dict[str, Any]:
        rows = {r: dict(self.counts[r], **_rates(self.counts[r])) for r in self.rules}
        total = self.total()
        return {
            "stages": list(STAGES),
            "rules": rows,
            "total": dict(total, **_rates(total)),
            "check_failures": self.failures,
            "attempts_rejected": self.rejected,
            "verified_by_proof_style": self.styles,
            "parents_not_opened": self.parents_failed,
            "parent_context": PARENT_CONTEXT,
            "parent_errors": self.parent_errors,
            "worker_minutes": round(self.worker_seconds / 60, 1),
            "verified_per_worker_minute": self.verified_per_worker_minute(),
            "run": self.run,
        }

    def verified_per_worker_minute(self) -> float:
        minutes = self.worker_seconds / 60
        return round(self.total()["verified"] / minutes, 1) if minutes > 0 else 0.0

    def table(self, markdown: bool = False) -> str:
        rows = [(r, self.counts[r]) for r in self.rules] + [("total", self.total())]
        head = ["rule", *STAGES, "verified/checked"]
        body = []
        for name, c in rows:
            rate = f"{100 * c['verified'] / c['checked']:.1f}%" if c["checked"] else "-"
            body.append([name, *(str(c[s]) for s in STAGES), rate])
        if markdown:
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(b) + " |" for b in body]
        else:
            widths = [max(len(x) for x in col) for col in zip(head, *body)]
            fmt = "  ".join(f"{{:>{w}}}" if i else f"{{:<{w}}}" for i, w in enumerate(widths))
            lines = [fmt.format(*head)] + [fmt.format(*b) for b in body]
        return "\n".join(lines)

    def write(self, json_path: Path, md_path: Path, command: str = "") -> None:
        json_path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        parts = ["# Mutation funnel", ""]
        if command:
            parts += ["```", command, "```", ""]
        parts += [self.table(markdown=True), "", PARENT_CONTEXT, ""]
        parts.append(
            f"All runs: {self.worker_seconds / 60:.1f} worker-minutes, "
            f"{self.verified_per_worker_minute()} verified mutants per worker-minute."
        )
        if self.run:
            parts += ["", "| run | value |", "|---|---|"]
            parts += [f"| {k} | {v} |" for k, v in self.run.items()]
            parts.append("")
        for rule in self.rules:
            for label, table in (
                ("attempts that gave no candidate", self.rejected),
                ("checked but not verified", self.failures),
                ("verified by proof style", self.styles),
            ):
                if table[rule]:
                    parts.append(f"- {rule}, {label}: " + ", ".join(
                        f"{k} {v}" for k, v in sorted(table[rule].items(), key=lambda kv: -kv[1])))
        if self.parent_errors:
            parts.append("- parents not opened: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.parent_errors.items(), key=lambda kv: -kv[1])))
        md_path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _rates(c: dict[str, int]) -> dict[str, float]:
    return {
        "verified_rate": round(c["verified"] / c["checked"], 4) if c["checked"] else 0.0,
        "unique_rate": round(c["unique"] / c["verified"], 4) if c["verified"] else 0.0,
    }


def _error_kind(error: str) -> str:
    if "statement does not compile" in error:
        return "name not usable as a constant"
    if "header does not compile" in error:
        return "header does not load"
    if "let-binding" in error:
        return "let in statement"
    if "introducing" in error:
        return "intro failed"
    return error.split(":", 1)[0][:60]
