"""Every file name of an iterate run and of its rounds, in one place.

runs/NAME/
  config.json            the config's identity (a resumed run must match it)
  metrics.jsonl          one line per finished round
  report.html, report.md
  round-R/
    state.json           the stage marks (iterate.stages)
    pool.jsonl           the round's pool statements, proved (formats.run_records' file)
    conjectures.generated.jsonl, conjectures.jsonl, conjecture_results.jsonl
    proofs.jsonl         every verified proof of the round, traced
    funnel.json, kept_conjectures.jsonl
    memory/              the tactic memory after the round (DONE when complete)
    train.jsonl, model/  the examples and the fine-tuned model (model/final)
    heldout/LABEL/, final/LABEL/   held-out eval runs
    manifest.json        inputs and outputs with SHA-256
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RoundLayout:
    dir: Path

    @property
    def number(self) -> int:
        return int(self.dir.name.removeprefix("round-"))

    @property
    def state(self) -> Path:
        return self.dir / "state.json"

    @property
    def pool_results(self) -> Path:
        return self.dir / "pool.jsonl"

    @property
    def generated_conjectures(self) -> Path:
        return self.dir / "conjectures.generated.jsonl"

    @property
    def conjectures(self) -> Path:
        return self.dir / "conjectures.jsonl"

    @property
    def conjecture_results(self) -> Path:
        return self.dir / "conjecture_results.jsonl"

    @property
    def proofs(self) -> Path:
        return self.dir / "proofs.jsonl"

    @property
    def funnel(self) -> Path:
        return self.dir / "funnel.json"

    @property
    def kept_conjectures(self) -> Path:
        return self.dir / "kept_conjectures.jsonl"

    @property
    def memory(self) -> Path:
        return self.dir / "memory"

    @property
    def memory_done(self) -> Path:
        return self.memory / "DONE"

    @property
    def examples(self) -> Path:
        return self.dir / "train.jsonl"

    @property
    def model_dir(self) -> Path:
        return self.dir / "model"

    @property
    def model(self) -> Path:
        return self.model_dir / "final"

    @property
    def model_summary(self) -> Path:
        return self.model_dir / "summary.json"

    def heldout(self, label: str, final: bool = False) -> Path:
        return self.dir / ("final" if final else "heldout") / label

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    def data_files(self) -> list[Path]:
        """The round's data files the manifest hashes."""
        return [self.pool_results, self.generated_conjectures, self.conjectures, self.conjecture_results,
                self.proofs, self.kept_conjectures, self.examples, self.funnel]


@dataclass(frozen=True)
class RunLayout:
    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "config.json"

    @property
    def metrics(self) -> Path:
        return self.dir / "metrics.jsonl"

    @property
    def report(self) -> Path:
        return self.dir / "report.html"

    @property
    def report_md(self) -> Path:
        return self.dir / "report.md"

    def round(self, r: int) -> RoundLayout:
        return RoundLayout(self.dir / f"round-{r}")
