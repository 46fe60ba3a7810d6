"""The one fine-tuning loop: a causal (or encoder-decoder) language model on prompt -> completion examples.

`fine_tune` serves `proofsmith train generator` (prover.sft, examples from a
traced split) and every training round of `proofsmith iterate` (examples of
the run's own verified proofs and conjectures). The loss is on the completion
only (`TokenizedExamples`). Training is transformers' `Trainer`: checkpoints
every `save_steps` into the output folder, and a rerun resumes from the last
one; the final model (weights and tokenizer, padding on the left as the
generators want it) lands in OUT/final.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from proofsmith.prover.prompt import PromptFormat


class TrainingDataError(ValueError):
    """Data that cannot be turned into training examples; the message names the input."""


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


@dataclass(frozen=True)
class TrainingSets:
    train: Sequence[Example]
    val: Sequence[Example] | None = None  # its loss is computed before and after training


@dataclass(frozen=True)
class FineTuneSettings:
    model: str | None = None  # the starting checkpoint; None: the default model
    max_steps: int = -1  # -1: `epochs` decides
    epochs: float = 3.0
    learning_rate: float = 1e-4
    batch_size: int = 8
    gradient_accumulation: int = 1
    max_prompt_tokens: int = 512
    max_length: int = 768
    save_steps: int = 200
    save_total_limit: int = 2
    logging_steps: int | None = None  # None: min(50, save_steps)
    # Train only the top N transformer blocks (and the final norm); None trains
    # everything. On a CPU this roughly halves the step time at N << depth.
    train_layers: int | None = None
    threads: int | None = None  # torch intra-op threads (see TransformersGenerator)
    device: str | None = None  # "cpu" forces the CPU; otherwise a GPU when there is one
    seed: int = 0
    keep_checkpoints: bool = True  # False: checkpoints go once the final model is saved
    progress: bool = True


@dataclass(frozen=True)
class FineTuneResult:
    model: str  # OUT/final
    base_model: str
    train_examples: int
    val_examples: int
    steps: int
    train_loss: float
    first_loss: float | None
    last_loss: float | None
    val_loss_before: float | None
    val_loss_after: float | None
    resumed_from: str | None
    seconds: float


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


def fine_tune(settings: FineTuneSettings, out_dir: Path, examples: Callable[[PromptFormat], TrainingSets],
              source: str) -> FineTuneResult:
    """Fine-tune `settings.model` into `out_dir`, resuming from its last checkpoint.

    `examples` builds the training (and validation) examples with the model's
    prompt format (so prompts are rendered exactly as at inference); `source`
    names their input in the error raised when there is nothing to train on.
    """
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

    if settings.threads:
        torch.set_num_threads(settings.threads)
    model_dir = resolve_model(settings.model)
    encoder_decoder = bool(getattr(AutoConfig.from_pretrained(model_dir), "is_encoder_decoder", False))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    prompt_format = PromptFormat(tokenizer, max_prompt_tokens=settings.max_prompt_tokens,
                                 use_chat_template=not encoder_decoder)
    sets = examples(prompt_format)
    train_set = TokenizedExamples(sets.train, tokenizer, prompt_format, settings.max_length, encoder_decoder)
    if len(train_set) == 0:
        raise TrainingDataError(f"{source}: no training examples")
    val_set = (TokenizedExamples(sets.val, tokenizer, prompt_format, settings.max_length, encoder_decoder)
               if sets.val else None)

    model_cls = AutoModelForSeq2SeqLM if encoder_decoder else AutoModelForCausalLM
    model = model_cls.from_pretrained(model_dir, dtype=torch.float32)
    if settings.train_layers is not None:
        freeze_below(model, settings.train_layers)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_cpu = settings.device == "cpu" or not torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation,
        lr_scheduler_type="linear",
        warmup_steps=0,
        logging_steps=settings.logging_steps or max(1, min(50, settings.save_steps)),
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        eval_strategy="no",
        report_to="none",
        seed=settings.seed,
        use_cpu=use_cpu,
        bf16=not use_cpu,
        remove_unused_columns=False,
        disable_tqdm=not settings.progress,
    )
    collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, padding=True)
    # With the tokenizer as processing_class every checkpoint is a loadable model directory.
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=val_set, data_collator=collator,
                      processing_class=tokenizer)
    resume = get_last_checkpoint(str(out_dir))
    t0 = time.monotonic()
    val_before = trainer.evaluate()["eval_loss"] if val_set is not None and resume is None else None
    output = trainer.train(resume_from_checkpoint=resume)
    val_after = trainer.evaluate()["eval_loss"] if val_set is not None else None
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    final = out_dir / "final"
    trainer.save_model(str(final))
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(str(final))
    if not settings.keep_checkpoints:
        for checkpoint in out_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint, ignore_errors=True)
    return FineTuneResult(
        model=str(final), base_model=str(model_dir), train_examples=len(train_set),
        val_examples=len(val_set) if val_set is not None else 0, steps=trainer.state.global_step,
        train_loss=output.training_loss, first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None, val_loss_before=val_before, val_loss_after=val_after,
        resumed_from=resume, seconds=round(time.monotonic() - t0, 1),
    )
