"""Supervised fine-tuning of a tactic generator on traced proofs.

Input is a LeanDojo Benchmark 4 directory (what the Coq tracer writes):
``{random,novel_premises}/{train,val,test}.json`` with traced tactics. Each
traced tactic gives one example, goal (plus retrieved premises, when a
retriever is given) -> tactic; each traced proof also gives one whole-proof
example, initial goals -> the proof's tactics, one per line, for pass@k
sampling. Prompts come from `PromptFormat`, exactly as at inference; the loss
is on the completion only. With `proof_retrieval` the prompts also show the
most similar traced proofs (Rango), from a tactic memory of the same train
split, leave-one-out: a theorem's own proof never appears in its prompts.

Training is `prover.fine_tuning.fine_tune` (the one fine-tuning loop, which
iterate's rounds use too): checkpoints every `save_steps` into the output
directory, and rerunning the same command resumes from the last one. The
final model (weights and tokenizer) lands in OUT/final, loadable by
`--model OUT/final`.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from proofsmith.checker.types import Source, Theorem
from proofsmith.prover.fine_tuning import Example, FineTuneSettings, TrainingDataError, TrainingSets, fine_tune
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.prompt import PromptFormat
from proofsmith.prover.proof_examples import ProofRetriever

log = logging.getLogger(__name__)


@dataclass
class SFTConfig:
    data: str
    out: str
    model: str | None = None  # None: the default model
    split: str = "random"
    epochs: float = 3.0
    max_steps: int = -1
    learning_rate: float = 1e-4
    batch_size: int = 8
    gradient_accumulation: int = 1
    max_prompt_tokens: int = 512
    max_length: int = 768
    whole_proofs: bool = True
    max_proof_lines: int = 24
    save_steps: int = 200
    seed: int = 0
    device: str | None = None
    # Train only the top N transformer blocks (and the final norm); None trains
    # everything. On a CPU this roughly halves the step time at N << depth.
    train_layers: int | None = None
    threads: int | None = None  # torch intra-op threads (see TransformersGenerator)
    # Subsetting for small runs: theorems whose file_path matches `files` (a
    # regex), goals up to `max_state_chars`, then at most `max_examples`
    # examples drawn with `seed`.
    files: str | None = None
    max_state_chars: int | None = None
    max_examples: int | None = None
    # Similar traced proofs in the prompts (prover.generators.proof_retrieval): the memory of
    # <data>/<split>/train.json, each theorem's own proof left out.
    proof_retrieval: bool = False
    proofs_k: int = 2


def normalize_tactic(tactic: str) -> str:
    """One line: the generator emits a tactic per line and stops at the line break."""
    return re.sub(r"\s+", " ", tactic).strip()


def examples_from_split(
    path: str | Path,
    prompt_format: PromptFormat,
    retriever: PremiseRetriever | None = None,
    premises_k: int = 16,
    whole_proofs: bool = True,
    max_proof_lines: int = 24,
    files: str | None = None,
    max_state_chars: int | None = None,
    proofs: ProofRetriever | None = None,
    proofs_k: int = 2,
    limit: int | None = None,
    seed: int = 0,
) -> list[Example]:
    """The examples of one split file. With `proofs`, each prompt shows the `proofs_k` most similar
    proofs of other theorems (leave-one-out: never the theorem's own). `limit` keeps a seeded random
    sample of that many, drawn before any prompt is built (retrieval costs a search per prompt)."""
    from proofsmith.retrieval.benchmark import BenchmarkError, load_theorems

    try:
        theorems = load_theorems(path)
        file_pattern = re.compile(files) if files else None
    except BenchmarkError as exc:
        raise TrainingDataError(str(exc)) from None
    except re.error as exc:
        raise TrainingDataError(f"files pattern {files!r}: {exc}") from None
    # (kind, state, target, query, theorem) for each example; prompts are built after sampling
    wanted: list[tuple[str, str, str, Theorem, str]] = []
    for thm in theorems:
        if file_pattern is not None and not file_pattern.search(thm.file_path):
            continue
        query = Theorem(
            name=thm.full_name, statement="", source=Source(repo=thm.url, commit=thm.commit, path=thm.file_path)
        )
        tactics = [normalize_tactic(t.tactic) for t in thm.traced_tactics]
        for traced, tactic in zip(thm.traced_tactics, tactics):
            if not tactic or (max_state_chars and len(traced.state_before) > max_state_chars):
                continue
            wanted.append(("tactic", traced.state_before, tactic, query, thm.full_name))
        first = thm.traced_tactics[0].state_before if thm.traced_tactics else ""
        if max_state_chars and len(first) > max_state_chars:
            continue
        if whole_proofs and tactics and all(tactics) and len(tactics) <= max_proof_lines:
            wanted.append(("proof", first, "\n".join(tactics), query, thm.full_name))
    if limit is not None and len(wanted) > limit:
        wanted = random.Random(seed).sample(wanted, limit)
    examples = []
    for kind, state, target, query, own in wanted:
        premises = retriever.retrieve(state, query, premises_k) if retriever else ()
        similar = proofs.similar_proofs(state, proofs_k, exclude={own}) if proofs is not None else []
        render = prompt_format.tactic_prompt if kind == "tactic" else prompt_format.proof_prompt
        examples.append(Example(render(state, premises, similar), target))
    return examples


def train_generator(config: SFTConfig, retriever: PremiseRetriever | None = None) -> dict[str, Any]:
    """Fine-tune (prover.fine_tuning.fine_tune), resuming from the last checkpoint in `config.out`; the run's figures."""
    data = Path(config.data)
    train_path = data / config.split / "train.json"
    if not train_path.is_file():
        raise TrainingDataError(f"{data}: no {config.split}/train.json (expected a LeanDojo Benchmark 4 directory)")
    val_path = data / config.split / "val.json"

    proofs = None
    if config.proof_retrieval:
        from proofsmith.prover.tactic_memory import TacticMemory, TacticMemoryError

        try:
            proofs = TacticMemory.from_trace(data, config.split)
        except TacticMemoryError as exc:
            raise TrainingDataError(str(exc)) from None

    def examples(prompt_format: PromptFormat) -> TrainingSets:
        def of(path: Path, limit: int | None) -> list[Example]:
            return examples_from_split(
                path, prompt_format, retriever, whole_proofs=config.whole_proofs,
                max_proof_lines=config.max_proof_lines, files=config.files, max_state_chars=config.max_state_chars,
                proofs=proofs, proofs_k=config.proofs_k, limit=limit, seed=config.seed,
            )

        # A bounded validation set: its loss is computed before and after training.
        val_limit = max(64, config.max_examples // 10) if config.max_examples else None
        return TrainingSets(of(train_path, config.max_examples), of(val_path, val_limit) if val_path.is_file() else None)

    settings = FineTuneSettings(
        model=config.model, max_steps=config.max_steps, epochs=config.epochs, learning_rate=config.learning_rate,
        batch_size=config.batch_size, gradient_accumulation=config.gradient_accumulation,
        max_prompt_tokens=config.max_prompt_tokens, max_length=config.max_length, save_steps=config.save_steps,
        train_layers=config.train_layers, threads=config.threads, device=config.device, seed=config.seed,
    )
    out = Path(config.out)
    result = fine_tune(settings, out, examples, str(train_path))
    figures: dict[str, Any] = {"train_examples": result.train_examples, "val_examples": result.val_examples}
    if result.val_loss_before is not None:
        figures["val_loss_before"] = result.val_loss_before
    figures.update(train_loss=result.train_loss, steps=result.steps, resumed_from=result.resumed_from)
    if result.val_loss_after is not None:
        figures["val_loss_after"] = result.val_loss_after
    figures["model"] = result.model
    figures["config"] = asdict(config)
    (out / "sft_summary.json").write_text(json.dumps(figures, indent=1, default=str))
    return figures
