"""Carrying a tactic from one Coq goal to another whose hypotheses have other names.

A tactic remembered from a traced proof names the hypotheses of the state it
ran in (`apply H0.`, `rewrite IHn.`); the goal at hand may call them
differently, or lack them. `adapt_tactic` maps each hypothesis of the
remembered state to a hypothesis of the goal with the same type (types
compared after renaming the hypotheses mapped before it, so `H : n <= m`
follows `n -> x`, `m -> y`), the k-th of a type to the k-th of that type;
failing that, to the goal hypothesis at the same position from the end.
A tactic naming a hypothesis that the remembered state had and the goal
neither has nor can map is dropped (None): run as is, it could only fail.

Only the first goal counts: a tactic acts on it. Hypotheses are read from
Coq's printing: `n, m : nat` (several names, one type), `x := v : T` (a
local definition), continuation lines indented.
"""

from __future__ import annotations

import re

GOAL_SEPARATOR = "============================"
_IDENTIFIER = re.compile(r"(?<![\w'.])([A-Za-z_][\w']*)(?![\w'])(?!\.[A-Za-z_])")


def hypotheses(state: str) -> list[tuple[str, str]]:
    """(name, type) of each hypothesis of the first goal, in order (whitespace in types collapsed)."""
    first = state.split("\n\n", 1)[0]
    if GOAL_SEPARATOR not in first:
        return []
    context = first.split(GOAL_SEPARATOR, 1)[0]
    blocks: list[str] = []
    for line in context.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and blocks:
            blocks[-1] += " " + line.strip()
        else:
            blocks.append(line.strip())
    found: list[tuple[str, str]] = []
    for block in blocks:
        names, sep, typ = block.partition(" : ")
        if not sep:
            continue
        names = names.split(" := ", 1)[0]
        for name in names.split(","):
            name = name.strip()
            if name:
                found.append((name, " ".join(typ.split())))
    return found


def _rename(text: str, mapping: dict[str, str]) -> str:
    return _IDENTIFIER.sub(lambda m: mapping.get(m.group(1), m.group(1)), text)


def hypothesis_mapping(memory_state: str, goal_state: str) -> dict[str, str]:
    """For each hypothesis of `memory_state`, the goal hypothesis that plays its part.

    First by type: the k-th memory hypothesis of a type maps to the k-th free goal
    hypothesis of that type (types compared after renaming what is mapped before
    them). Then by position, counted from the end (the hypotheses introduced
    last are the ones a proof step names, and the contexts above them may
    differ): a memory hypothesis still unmapped takes the goal hypothesis at
    its position from the end, if that one is free.
    """
    goal_hyps = hypotheses(goal_state)
    memory_hyps = hypotheses(memory_state)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    seen_of_type: dict[str, int] = {}
    for name, typ in memory_hyps:
        typ = _rename(typ, mapping)
        rank = seen_of_type.get(typ, 0)
        seen_of_type[typ] = rank + 1
        free = [g for g, gt in goal_hyps if gt == typ and g not in taken]
        if not free:
            continue
        choice = name if name in free else free[min(rank, len(free) - 1)]
        mapping[name] = choice
        taken.add(choice)
    for back, (name, _) in enumerate(reversed(memory_hyps), start=1):
        if name in mapping or back > len(goal_hyps):
            continue
        candidate = goal_hyps[-back][0]
        if candidate not in taken:
            mapping[name] = candidate
            taken.add(candidate)
    return mapping


def adapt_tactic(tactic: str, memory_state: str, goal_state: str) -> str | None:
    """`tactic` with the memory state's hypothesis names replaced by the goal's, or None when it
    names a hypothesis the goal lacks and nothing of its type stands in for it."""
    memory_names = {name for name, _ in hypotheses(memory_state)}
    used = {m.group(1) for m in _IDENTIFIER.finditer(tactic)} & memory_names
    if not used:
        return tactic
    goal_names = {name for name, _ in hypotheses(goal_state)}
    mapping = hypothesis_mapping(memory_state, goal_state)
    for name in used:
        if name not in mapping and name not in goal_names:
            return None
    renaming = {name: mapping[name] for name in used if name in mapping}
    return _rename(tactic, renaming) if renaming else tactic
