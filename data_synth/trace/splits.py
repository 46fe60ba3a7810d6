"""LeanDojo's two ways of splitting traced theorems into train / val / test.

- random: shuffle, then cut.
- novel_premises: premises sorted by how many theorems use them (fewest
  first); all theorems using a premise go to val/test together until val/test
  is full, so every val/test theorem uses at least one premise that no train
  theorem uses. As in LeanDojo, val/test can overshoot the requested size by
  the last premise's theorems; the overshoot goes to test.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

SEED = 3407  # LeanDojo's


def eval_size(total: int, fraction: float) -> int:
    """How many theorems val (and test) get: a fraction of the total, at least one when there are three."""
    if total < 3:
        return 0
    return max(1, round(total * fraction))


def split_randomly(items: Sequence[T], num_val: int, num_test: int, seed: int = SEED) -> dict[str, list[T]]:
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    num_val = min(num_val, len(shuffled))
    num_test = min(num_test, len(shuffled) - num_val)
    num_train = len(shuffled) - num_val - num_test
    return {
        "train": shuffled[:num_train],
        "val": shuffled[num_train : num_train + num_val],
        "test": shuffled[num_train + num_val :],
    }


def split_by_premise(
    items: Sequence[T], premises_of: Callable[[T], Sequence[str]], num_val: int, num_test: int, seed: int = SEED
) -> dict[str, list[T]]:
    users: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for premise in dict.fromkeys(premises_of(item)):
            users[premise].append(index)
    held_out: dict[int, None] = {}  # insertion-ordered set of item indices
    for _, indices in sorted(users.items(), key=lambda kv: (len(kv[1]), kv[0])):
        if len(held_out) >= num_val + num_test:
            break
        held_out.update(dict.fromkeys(indices))
    train = [item for index, item in enumerate(items) if index not in held_out]
    rest = [items[index] for index in held_out]
    random.Random(seed).shuffle(rest)
    return {"train": train, "val": rest[:num_val], "test": rest[num_val:]}
