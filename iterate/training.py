"""A round's training examples and its fine-tuned model.

One model plays both roles. Round 0 learns the first conjecturer set (the
mutation corpus read as parent + premise -> mutant) and a sample of traced
human steps; round r learns every verified proof so far (expert iteration),
the kept conjectures, and a replay of mutation and human examples. Training
is prover.fine_tuning.fine_tune.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from proofsmith.data_synth import conjecture as cj
from proofsmith.formats.json_files import write_json
from proofsmith.iterate.config import IterateConfig, TrainingSection
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.pools import RunInputs
from proofsmith.iterate.records import KeptConjecture, TracedProof, TrainingRow, read_records


def tokenizer_of(model: str):
    from transformers import AutoTokenizer

    from proofsmith.prover.model_store import resolve_model

    return AutoTokenizer.from_pretrained(resolve_model(None if model == "default" else model))


def mutation_rows(config: IterateConfig, inputs: RunInputs, tokenizer, count: int, seed: int) -> list[TrainingRow]:
    """Conjecturer examples from the mutation corpus: parent (+ premise) -> mutant."""
    if not count:
        return []
    records = (r for r in inputs.mutant_records() if r.split == "train")
    examples = cj.mutation_examples(records, inputs.lemma_index.by_full, inputs.train_proofs,
                                    set(inputs.pools.heldout_names), count, seed)
    fmt = cj.ConjectureFormat(tokenizer, config.conjecturer.max_prompt_tokens)
    return [TrainingRow(kind="conjecture-mutation", prompt=fmt.prompt(e.lemma, e.seed_statement, e.seed_proof),
                        completion=e.conjecture + ".") for e in examples]


def human_rows(config: IterateConfig, inputs: RunInputs, tokenizer, r: int) -> list[TrainingRow]:
    """A sample of traced human steps of the train split (never val/test): the prover's replay."""
    from proofsmith.formats.leandojo import read_split, split_file
    from proofsmith.prover.prompt import PromptFormat
    from proofsmith.prover.sft import normalize_tactic

    t = config.training
    if not t.human_examples:
        return []
    fmt = PromptFormat(tokenizer, max_prompt_tokens=t.max_prompt_tokens)
    steps = []
    for thm in read_split(split_file(inputs.trace, f"{config.strategy}/train", "a trace folder")):
        for s in thm.traced_tactics:
            if s.tactic.strip() and len(s.state_before) <= t.max_state_chars:
                steps.append((s.state_before, normalize_tactic(s.tactic)))
    rng = random.Random(inputs.seed * 1000 + r)
    chosen = rng.sample(steps, min(t.human_examples, len(steps)))
    return [TrainingRow(kind="prover-human", prompt=fmt.tactic_prompt(state), completion=tactic)
            for state, tactic in chosen]


def round_zero_rows(config: IterateConfig, inputs: RunInputs, tokenizer) -> list[TrainingRow]:
    return (mutation_rows(config, inputs, tokenizer, config.training.mutation_examples, seed=inputs.seed)
            + human_rows(config, inputs, tokenizer, 0))


def round_rows(config: IterateConfig, inputs: RunInputs, layout: RunLayout, r: int, tokenizer) -> list[TrainingRow]:
    from proofsmith.prover.prompt import PromptFormat

    t = config.training
    fmt = PromptFormat(tokenizer, max_prompt_tokens=t.max_prompt_tokens)
    cfmt = cj.ConjectureFormat(tokenizer, config.conjecturer.max_prompt_tokens)
    rows: list[TrainingRow] = []
    for k in range(1, r + 1):  # every verified proof so far: expert iteration
        rd = layout.round(k)
        for proof in read_records(rd.proofs, TracedProof):
            for state, tactic in proof.steps:
                if len(state) <= t.max_state_chars:
                    rows.append(TrainingRow(kind="prover-proof-step", prompt=fmt.tactic_prompt(state), completion=tactic))
            if proof.steps and len(proof.steps[0][0]) <= t.max_state_chars:
                rows.append(TrainingRow(kind="prover-whole-proof", prompt=fmt.proof_prompt(proof.steps[0][0]),
                                        completion="\n".join(tac for _, tac in proof.steps)))
        for x in read_records(rd.kept_conjectures, KeptConjecture):
            lemma = cj.Lemma(x.lemma, x.lemma_statement or "") if x.lemma else None
            rows.append(TrainingRow(kind="conjecture-kept", prompt=cfmt.prompt(lemma, x.seed_statement, x.seed_proof),
                                    completion=x.body + "."))
    rows += mutation_rows(config, inputs, tokenizer, t.mutation_replay, seed=inputs.seed + r)
    rows += human_rows(config, inputs, tokenizer, r)
    return rows


def kinds(rows: list[TrainingRow]) -> dict[str, int]:
    return dict(Counter(row.kind for row in rows))


def train_round_model(examples_path: Path, base_model: str, out_dir: Path, t: TrainingSection, seed: int) -> dict[str, Any]:
    """Fine-tune `base_model` on a round's examples file (prover.fine_tuning.fine_tune, resuming from a checkpoint).

    The checkpoints go once the final model is saved: later rounds read OUT/final only.
    """
    from proofsmith.prover.fine_tuning import Example, FineTuneSettings, TrainingSets, fine_tune

    rows = read_records(examples_path, TrainingRow)
    settings = FineTuneSettings(
        model=None if base_model in ("default", "") else base_model, max_steps=t.max_steps,
        learning_rate=t.learning_rate, batch_size=t.batch_size, max_prompt_tokens=t.max_prompt_tokens,
        max_length=t.max_length, save_steps=max(5, t.max_steps // 4), save_total_limit=1,
        logging_steps=max(1, t.max_steps // 8), train_layers=t.train_layers if t.train_layers >= 0 else None,
        threads=t.threads or None, device="cpu" if t.device == "cpu" else None, seed=seed,
        keep_checkpoints=False, progress=False,
    )
    result = fine_tune(settings, out_dir, lambda _: TrainingSets([Example(r.prompt, r.completion) for r in rows]),
                       str(examples_path))
    figures = {
        "examples": result.train_examples, "steps": result.steps, "train_loss": result.train_loss,
        "first_loss": result.first_loss, "last_loss": result.last_loss, "resumed_from": result.resumed_from,
        "seconds": result.seconds, "model": result.model, "base_model": result.base_model, "kinds": kinds(rows),
    }
    write_json(out_dir / "summary.json", figures, indent=1)
    return figures
