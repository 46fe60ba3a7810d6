"""The token ids that end a local model's completion: its end-of-sequence ids, and for a tactic
(one line) every token whose text holds a line break. Shared by the transformers and CTranslate2
generators, which decode the same checkpoint with the same tokenizer."""

from __future__ import annotations

from collections.abc import Sequence


def newline_token_ids(tokenizer) -> list[int]:
    """Every token whose text contains a line break: a tactic ends at the first one."""
    return [i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])]


def end_of_sequence_ids(tokenizer, configured: int | Sequence[int] | None) -> list[int]:
    """The model's configured end-of-sequence id(s) (its generation config), plus the tokenizer's own."""
    ids = [configured] if isinstance(configured, int) else list(configured or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids
