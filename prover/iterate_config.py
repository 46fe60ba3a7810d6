"""The configuration of `proofsmith iterate`: a TOML file, validated with errors that name the key.

Every key has a type and a default (`SCHEMA`); an unknown key, a wrong type or
a value out of range is an `IterateConfigError` saying `section.key: what is
wrong`. The parsed config is a plain dict of sections (`IterateConfig.data`),
saved into the run directory, so a resumed run can be compared key by key
with the run that started it.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class IterateConfigError(ValueError):
    """A bad iterate config; the message names the key."""


# section -> key -> (type(s), default, check or None); a check returns an error text or None.
def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be positive"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be at least 0"


def _share(v: Any) -> str | None:
    return None if 0 <= v <= 1 else "must be between 0 and 1"


_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[Any, Any, Any]]] = {
    "run": {
        "rounds": (int, 3, _positive),
        "seed": (int, 0, None),
    },
    "data": {
        "trace": (str, ".cache/trace/stdlib", None),
        "mutants": (str, ".cache/mutants/stdlib.jsonl", None),
    },
    "pools": {
        "library": (int, 150, _non_negative),  # random/train theorems in the pool
        "library_per_round": (int, 50, _non_negative),
        "mutants": (int, 90, _non_negative),
        "mutants_per_round": (int, 30, _non_negative),
        # false: slices in corpus order (so rounds see different library areas); true: drawn in random order,
        # so that every round's slice is alike
        "shuffle": (bool, False, None),
    },
    "prover": {
        "name": (str, "search", None),
        "model": (str, "default", None),  # the starting model
        "workers": (int, 2, _positive),
        "budget_s": (_NUM, 20.0, _positive),
        "tactic_timeout_s": (_NUM, 5.0, _positive),
        "attempts": (int, 2, _positive),  # per pool statement: its empirical pass rate
        "conjecture_attempts": (int, 4, _positive),
        "options": (dict, {}, None),  # passed to prover.registry.make_prover (model is set per round)
    },
    "conjecturer": {
        "inputs_per_round": (int, 24, _non_negative),
        "samples_per_input": (int, 1, _positive),
        "temperature": (_NUM, 1.0, _positive),
        "max_tokens": (int, 96, _positive),
        "max_prompt_tokens": (int, 512, _positive),
        "min_seed_rate": (_NUM, 0.35, _share),
        "empty_lemma_p": (_NUM, 0.5, _share),
        "max_lemma_share": (_NUM, 0.10, _share),
        "max_pass_rate": (_NUM, 0.25, _share),
        "elegance_drop": (_NUM, 0.20, _share),
        "cap": (int, 0, _non_negative),  # 0: the number of dataset statements attempted in the round (STP)
        "elaborate_timeout_s": (_NUM, 10.0, _positive),
        "generator": (str, "auto", None),
        "threads": (int, 0, _non_negative),  # 0: the generator's default
    },
    "training": {
        "max_steps": (int, 60, _positive),
        "batch_size": (int, 8, _positive),
        "learning_rate": (_NUM, 1e-4, _positive),
        "max_length": (int, 384, _positive),
        "max_prompt_tokens": (int, 320, _positive),
        "train_layers": (int, -1, None),  # -1: all
        "threads": (int, 0, _non_negative),
        "mutation_examples": (int, 400, _non_negative),  # round 0: the first conjecturer set
        "mutation_replay": (int, 50, _non_negative),  # later rounds
        "human_examples": (int, 300, _non_negative),  # traced human steps of random/train, each round
        "max_state_chars": (int, 1200, _positive),
        "device": (str, "auto", None),
    },
    "heldout": {
        "stdlib_val": (int, 30, _non_negative),
        "minif2f_valid": (int, 20, _non_negative),
        "stdlib_test": (int, 100, _non_negative),  # --final only
        "minif2f_test": (int, 50, _non_negative),  # --final only
        "budget_s": (_NUM, 20.0, _positive),
        "seed": (int, 0, None),
    },
    "memory": {
        "enabled": (bool, True, None),  # update the tactic memory (prover.tactic_memory) with every proof
        "from_trace": (bool, True, None),  # round 0's memory: the traced random/train proofs
    },
}

# Keys a resumed run may change (they do not change what is computed).
MAY_CHANGE = {("prover", "workers"), ("conjecturer", "threads"), ("training", "threads"), ("training", "device")}


@dataclass
class IterateConfig:
    data: dict[str, dict[str, Any]]
    path: str = ""

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.data[section]

    def differing(self, previous: dict[str, Any]) -> list[str]:
        """Keys whose value differs from a stored identity; a key the stored one lacks (a run started
        before the key existed) counts as its default."""
        out = []
        for section, keys in self.identity().items():
            for key, value in keys.items():
                before = previous.get(section, {}).get(key, SCHEMA[section][key][1])
                if isinstance(before, int) and not isinstance(before, bool) and isinstance(value, float):
                    before = float(before)
                if before != value:
                    out.append(f"{section}.{key}")
        return out

    def identity(self) -> dict[str, Any]:
        return {s: {k: v for k, v in keys.items() if (s, k) not in MAY_CHANGE} for s, keys in self.data.items()}

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, sort_keys=True)


def _type_name(kind: Any) -> str:
    if kind is _NUM:
        return "a number"
    return {int: "an integer", str: "a string", bool: "true or false", dict: "a table"}.get(kind, str(kind))


def validate(raw: dict[str, Any], where: str = "config") -> IterateConfig:
    out: dict[str, dict[str, Any]] = {}
    for section in raw:
        if section not in SCHEMA:
            raise IterateConfigError(f"{where}: unknown section [{section}]; sections: {', '.join(SCHEMA)}")
        if not isinstance(raw[section], dict):
            raise IterateConfigError(f"{where}: {section}: expected a table [{section}]")
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        unknown = sorted(set(given) - set(keys))
        if unknown:
            raise IterateConfigError(
                f"{where}: {section}.{unknown[0]}: unknown key; [{section}] takes {', '.join(keys)}")
        values = {}
        for key, (kind, default, check) in keys.items():
            value = given.get(key, default)
            ok = isinstance(value, kind) and not (kind in (int, _NUM) and isinstance(value, bool))
            if not ok:
                raise IterateConfigError(f"{where}: {section}.{key}: expected {_type_name(kind)}, got {value!r}")
            if check is not None and (problem := check(value)) is not None:
                raise IterateConfigError(f"{where}: {section}.{key}: {problem}, got {value!r}")
            values[key] = float(value) if kind is _NUM else value
        out[section] = values
    prover = out["prover"]
    from proofsmith.prover.registry import PROVER_OPTIONS, ProverOptionError, check_prover

    options = dict(prover["options"])
    if "model" in options:
        raise IterateConfigError(f"{where}: prover.options.model: the model is prover.model (each round sets its own)")
    try:
        check_prover(prover["name"], options)
    except ProverOptionError as exc:
        raise IterateConfigError(f"{where}: prover.name / prover.options: {exc}") from None
    if "model" not in PROVER_OPTIONS[prover["name"]]:
        raise IterateConfigError(f"{where}: prover.name: {prover['name']!r} runs no model, so iteration cannot train it; "
                                 f"use one that takes a model ({', '.join(n for n, o in PROVER_OPTIONS.items() if 'model' in o)})")
    return IterateConfig(out)


def load_config(path: str | Path) -> IterateConfig:
    path = Path(path)
    if not path.is_file():
        raise IterateConfigError(f"{path}: no such config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IterateConfigError(f"{path}: not valid TOML: {exc}") from None
    config = validate(raw, str(path))
    config.path = str(path)
    return config
