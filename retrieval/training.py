"""Contrastive fine-tuning of a premise encoder on traced proofs, as ReProver trains its retriever.

Each training example is (goal state before a tactic, one premise the tactic
used). A batch scores every query against every premise in the batch: the
positives of all examples (in-batch negatives for the others) plus, per
example, negatives drawn from the premises the theorem can access, up to
``num_in_file_negatives`` of them from the positive's own file (hard
negatives) and the rest from other accessible files. Premises that are also
positives of a query are masked out of its negatives. ReProver regresses
cosine similarities with MSE; this uses the InfoNCE loss (cross-entropy over
similarities / temperature), the usual choice for sentence encoders.

Runs are resumable: every ``checkpoint_every`` steps the model, optimizer,
scheduler and position in the data are written to ``OUT/checkpoint``; a rerun
with the same settings continues from there. The finished encoder is a plain
transformers folder, ``OUT/model``, usable anywhere an encoder path is.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from proofsmith.formats.json_files import (
    InputFileError,
    JsonlAppender,
    get_field,
    read_json,
    read_jsonl,
    write_json,
    write_jsonl,
)
from proofsmith.formats.leandojo import Pos
from proofsmith.retrieval.benchmark import Query
from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.encoder import TextEncoder
from proofsmith.retrieval.errors import RetrievalInputError


class TrainingError(RetrievalInputError):
    """Bad training input or an output folder that holds a different run."""


@dataclass(frozen=True)
class TrainingExample:
    state: str
    file_path: str
    pos: Pos
    positive: int
    all_positives: frozenset[int]


def training_examples(queries: Sequence[Query]) -> list[TrainingExample]:
    """One example per (tactic, premise it used); tactics that used none are left out."""
    out = []
    for q in queries:
        if q.file_path is None or q.pos is None:
            continue
        for p in sorted(q.positives):
            out.append(TrainingExample(q.state, q.file_path, q.pos, p, q.positives))
    return out


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 8
    num_negatives: int = 3
    num_in_file_negatives: int = 1
    lr: float = 2e-5
    warmup_steps: int = 10
    epochs: int = 1
    max_steps: int | None = None
    max_length: int = 128
    temperature: float = 0.05
    seed: int = 0
    checkpoint_every: int = 50

    def validate(self) -> None:
        if self.batch_size < 1:
            raise TrainingError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0 <= self.num_in_file_negatives <= self.num_negatives:
            raise TrainingError(
                f"in-file negatives ({self.num_in_file_negatives}) must be between 0 and "
                f"the number of negatives ({self.num_negatives})"
            )
        if self.lr <= 0 or self.temperature <= 0:
            raise TrainingError("learning rate and temperature must be positive")
        if self.epochs < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise TrainingError("epochs and max steps must be at least 1")


class NegativeSampler:
    """Accessible negatives for an example: in-file (hard) ones first, then from other files."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._masks: dict[tuple[str, Pos], np.ndarray] = {}

    def sample(
        self, ex: TrainingExample, n: int, n_in_file: int, rng: np.random.Generator
    ) -> list[int]:
        key = (ex.file_path, ex.pos)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self.corpus.accessible_mask(*key)
        f = self.corpus.files[self.corpus.premises[ex.positive].path]
        excluded = np.fromiter(ex.all_positives, dtype=np.int64)
        in_file = np.arange(f.first_id, f.stop_id)
        in_file = in_file[mask[f.first_id : f.stop_id]]
        in_file = np.setdiff1d(in_file, excluded)
        outside = mask.copy()
        outside[f.first_id : f.stop_id] = False
        outside[excluded] = False
        hard = rng.choice(in_file, size=min(n_in_file, len(in_file)), replace=False)
        rest = n - len(hard)
        candidates = np.flatnonzero(outside)
        if len(candidates) < rest:  # a small library: top up from the positive's file
            candidates = np.union1d(candidates, np.setdiff1d(in_file, hard))
        easy = rng.choice(candidates, size=min(rest, len(candidates)), replace=False)
        return [int(i) for i in np.concatenate([hard, easy])]


def contrastive_loss(
    encoder: TextEncoder,
    corpus: Corpus,
    batch: Sequence[TrainingExample],
    negatives: Sequence[Sequence[int]],
    temperature: float,
):
    """InfoNCE of each query against all premises of the batch, other positives masked."""
    import torch
    import torch.nn.functional as F

    docs: list[int] = []
    column: dict[int, int] = {}
    for ex, negs in zip(batch, negatives):
        for pid in (ex.positive, *negs):
            if pid not in column:
                column[pid] = len(docs)
                docs.append(pid)
    queries = encoder.embed([ex.state for ex in batch])
    premises = encoder.embed([corpus.premises[i].serialize() for i in docs])
    logits = queries @ premises.T / temperature
    mask = torch.zeros_like(logits, dtype=torch.bool)
    for row, ex in enumerate(batch):
        for pid in ex.all_positives:
            col = column.get(pid)
            if col is not None and pid != ex.positive:
                mask[row, col] = True
    logits = logits.masked_fill(mask, float("-inf"))
    targets = torch.tensor([column[ex.positive] for ex in batch], device=logits.device)
    return F.cross_entropy(logits, targets)


@dataclass
class TrainResult:
    model_dir: Path
    steps: int
    losses: list[float] = field(default_factory=list)
    resumed_from: int = 0


def _batches(n: int, config: TrainConfig) -> list[list[int]]:
    """The whole run's batches: a fixed shuffle per epoch, so a resumed run sees the same order."""
    out = []
    for epoch in range(config.epochs):
        order = np.random.default_rng(config.seed + epoch).permutation(n)
        out.extend(order[i : i + config.batch_size].tolist() for i in range(0, n, config.batch_size))
    if config.max_steps is not None:
        out = out[: config.max_steps]
    return out


def train_retriever(
    corpus: Corpus,
    queries: Sequence[Query],
    out_dir: str | Path,
    encoder_path: str | Path | None = None,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> TrainResult:
    import torch
    from tqdm import tqdm

    config.validate()
    out = Path(out_dir)
    examples = training_examples(queries)
    if not examples:
        raise TrainingError("the training split has no tactic that uses a corpus premise")
    batches = _batches(len(examples), config)
    run_id = {
        "config": asdict(config),
        "base_encoder": str(encoder_path) if encoder_path else "default",
        "corpus_hash": corpus.content_hash,
        "examples": len(examples),
    }
    model_dir, ckpt_dir = out / "model", out / "checkpoint"
    summary_path, log_path = out / "training.json", out / "train_log.jsonl"
    if summary_path.is_file():
        try:
            summary = read_json(summary_path)
        except InputFileError as exc:
            raise TrainingError(str(exc)) from None
        if summary.get("run") == run_id and (model_dir / "config.json").is_file():
            return TrainResult(model_dir, summary["steps"], summary.get("losses", []), summary["steps"])
        raise TrainingError(f"{out}: holds a finished run with other settings; choose another --out")

    start = 0
    state = None
    if (ckpt_dir / "state.pt").is_file():
        state = torch.load(ckpt_dir / "state.pt", weights_only=False)
        if state["run"] != run_id:
            raise TrainingError(
                f"{out}: holds a checkpoint of a run with other settings; choose another --out"
            )
        start = state["step"]
    encoder = TextEncoder(ckpt_dir if state else encoder_path, max_length=config.max_length)
    encoder.model.train()
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, config.warmup_steps))
    )
    losses: list[float] = []
    if state:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        losses = list(state["losses"])
    out.mkdir(parents=True, exist_ok=True)
    _truncate_log(log_path, start)

    sampler = NegativeSampler(corpus)
    bar = tqdm(total=len(batches), initial=start, desc="training retriever", unit="step", disable=not progress)
    with JsonlAppender(log_path) as log:
        for step in range(start, len(batches)):
            rng = np.random.default_rng([config.seed, step])
            batch = [examples[i] for i in batches[step]]
            negatives = [
                sampler.sample(ex, config.num_negatives, config.num_in_file_negatives, rng) for ex in batch
            ]
            loss = contrastive_loss(encoder, corpus, batch, negatives, config.temperature)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingError(f"loss became {value} at step {step}; lower the learning rate")
            losses.append(value)
            log.append({"step": step + 1, "loss": value, "lr": scheduler.get_last_lr()[0], "time": time.time()})
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}")
            done = step + 1
            if done % config.checkpoint_every == 0 and done < len(batches):
                _save_checkpoint(encoder, optimizer, scheduler, done, losses, run_id, ckpt_dir)
    bar.close()
    encoder.forget_fingerprint()
    encoder.model.eval()
    encoder.save(model_dir)
    summary = {"run": run_id, "steps": len(batches), "losses": losses, "final_loss": losses[-1] if losses else None}
    write_json(summary_path, summary, indent=1)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return TrainResult(model_dir, len(batches), losses, start)


def _save_checkpoint(encoder, optimizer, scheduler, step, losses, run_id, ckpt_dir: Path) -> None:
    import torch

    tmp = ckpt_dir.with_name(ckpt_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    encoder.save(tmp)
    torch.save(
        {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "losses": losses, "run": run_id},
        tmp / "state.pt",
    )
    old = ckpt_dir.with_name(ckpt_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if ckpt_dir.exists():
        os.replace(ckpt_dir, old)
    os.replace(tmp, ckpt_dir)
    shutil.rmtree(old, ignore_errors=True)


def _truncate_log(log_path: Path, step: int) -> None:
    """Drop log lines past the checkpoint a resumed run restarts from."""
    if not log_path.is_file():
        return
    try:
        keep = [
            r for line, r in read_jsonl(log_path, missing_ok=True, appended=True) if get_field(r, "step", int, log_path, line) <= step
        ]
    except InputFileError as exc:
        raise TrainingError(str(exc)) from None
    write_jsonl(log_path, keep)
