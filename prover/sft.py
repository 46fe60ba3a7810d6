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

Training is transformers' `Trainer`: checkpoints every `save_steps` into the
output directory, and rerunning the same command resumes from the last one.
The final model (weights and tokenizer) lands in OUT/final, loadable by
`--model OUT/final`.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from proofsmith.checker.types import Source, Theorem
from proofsmith.prover.premises import PremiseRetriever
from proofsmith.prover.proof_examples import ProofRetriever
from proofsmith.prover.prompt import PromptFormat

log = logging.getLogger(__name__)


class TrainingDataError(ValueError):
    """Traced data that cannot be turned into training examples; the message names the input."""


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


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


class TokenizedExamples:
    """Examples as token ids, the loss masked (-100) on the prompt."""

    def __init__(self, examples: Sequence[Example], tokenizer, prompt_format: PromptFormat, max_length: int,
                 encoder_decoder: bool = False):
        self.items: list[dict[str, list[int]]] = []
        for ex in examples:
            prompt_ids = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
            target_ids = tokenizer(prompt_format.target(ex.completion), add_special_tokens=False)["input_ids"]
            if encoder_decoder:
                self.items.append({"input_ids": prompt_ids[:max_length], "labels": target_ids[:max_length]})
                continue
            ids = (prompt_ids + target_ids)[:max_length]
            labels = ([-100] * len(prompt_ids) + target_ids)[:max_length]
            if all(label == -100 for label in labels):
                continue  # the prompt alone fills the window: nothing to learn
            self.items.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.items[i]


def freeze_below(model, train_layers: int) -> int:
    """Freeze everything but the top `train_layers` blocks and the final norm; returns trainable params."""
    base = model.get_decoder() if hasattr(model, "get_decoder") else model.base_model
    layers = getattr(base, "layers", None)
    if layers is None or train_layers < 0:
        raise TrainingDataError("train_layers needs a decoder with a `layers` list and a count >= 0")
    for param in model.parameters():
        param.requires_grad = False
    trainable = list(layers[len(layers) - train_layers :]) if train_layers else []
    if getattr(base, "norm", None) is not None:
        trainable.append(base.norm)
    for module in trainable:
        for param in module.parameters():
            param.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_generator(config: SFTConfig, retriever: PremiseRetriever | None = None) -> dict[str, Any]:
    """Fine-tune, resuming from the last checkpoint in `config.out`; returns the run's figures."""
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )
    from transformers.trainer_utils import get_last_checkpoint

    from proofsmith.prover.model_store import resolve_model

    if config.threads is not None:
        torch.set_num_threads(config.threads)
    data = Path(config.data)
    train_path = data / config.split / "train.json"
    if not train_path.is_file():
        raise TrainingDataError(f"{data}: no {config.split}/train.json (expected a LeanDojo Benchmark 4 directory)")
    val_path = data / config.split / "val.json"
    model_dir = resolve_model(config.model)
    encoder_decoder = bool(getattr(AutoConfig.from_pretrained(model_dir), "is_encoder_decoder", False))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    prompt_format = PromptFormat(
        tokenizer, max_prompt_tokens=config.max_prompt_tokens, use_chat_template=not encoder_decoder
    )

    proofs = None
    if config.proof_retrieval:
        from proofsmith.prover.tactic_memory import TacticMemory, TacticMemoryError

        try:
            proofs = TacticMemory.from_trace(data, config.split)
        except TacticMemoryError as exc:
            raise TrainingDataError(str(exc)) from None

    def dataset(path: Path, limit: int | None) -> TokenizedExamples:
        examples = examples_from_split(
            path, prompt_format, retriever, whole_proofs=config.whole_proofs, max_proof_lines=config.max_proof_lines,
            files=config.files, max_state_chars=config.max_state_chars, proofs=proofs, proofs_k=config.proofs_k,
            limit=limit, seed=config.seed,
        )
        return TokenizedExamples(examples, tokenizer, prompt_format, config.max_length, encoder_decoder)

    train_set = dataset(train_path, config.max_examples)
    if len(train_set) == 0:
        raise TrainingDataError(f"{train_path}: no traced tactics to train on")
    # A bounded validation set: its loss is computed before and after training.
    val_limit = max(64, config.max_examples // 10) if config.max_examples else None
    val_set = dataset(val_path, val_limit) if val_path.is_file() else None

    model_cls = AutoModelForSeq2SeqLM if encoder_decoder else AutoModelForCausalLM
    model = model_cls.from_pretrained(model_dir, dtype=torch.float32)
    if config.train_layers is not None:
        freeze_below(model, config.train_layers)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    use_cpu = config.device == "cpu" or not torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        lr_scheduler_type="linear",
        warmup_steps=0,
        logging_steps=max(1, min(50, config.save_steps)),
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        eval_strategy="no",
        report_to="none",
        seed=config.seed,
        use_cpu=use_cpu,
        bf16=not use_cpu,
        remove_unused_columns=False,
    )
    collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, padding=True)
    # With the tokenizer as processing_class every checkpoint is a loadable model directory.
    trainer = Trainer(
        model=model, args=args, train_dataset=train_set, eval_dataset=val_set, data_collator=collator,
        processing_class=tokenizer,
    )
    figures: dict[str, Any] = {"train_examples": len(train_set), "val_examples": len(val_set) if val_set else 0}
    resume = get_last_checkpoint(str(out)) if out.is_dir() else None
    if val_set is not None and resume is None:
        figures["val_loss_before"] = trainer.evaluate()["eval_loss"]
    train_output = trainer.train(resume_from_checkpoint=resume)
    figures["train_loss"] = train_output.training_loss
    figures["steps"] = trainer.state.global_step
    figures["resumed_from"] = resume
    if val_set is not None:
        figures["val_loss_after"] = trainer.evaluate()["eval_loss"]
    final = out / "final"
    trainer.save_model(str(final))
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(str(final))
    figures["model"] = str(final)
    figures["config"] = asdict(config)
    (out / "sft_summary.json").write_text(json.dumps(figures, indent=1, default=str))
    return figures
