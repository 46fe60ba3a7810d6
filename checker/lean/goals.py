"""Lean's pretty-printed goals (`case tag`, hypotheses, `⊢ target`) as checker Goals.

Lean prints one goal as lines `names : type` (a let-bound one as
`name : type := value`) and a final `⊢ target`; a line that starts with
whitespace continues the entry above it.
"""

from __future__ import annotations

from proofsmith.checker.types import Goal, Hypothesis

TURNSTILE = "⊢"


def parse_goal(text: str) -> Goal:
    entries: list[str] = []
    for line in text.split("\n"):
        if entries and line[:1].isspace():
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    hypotheses: list[Hypothesis] = []
    target = ""
    for entry in entries:
        if entry.startswith(TURNSTILE):
            target = entry[len(TURNSTILE) :].strip()
        elif entry.startswith("case ") and not hypotheses:
            continue
        elif " : " in entry:
            names, rest = entry.split(" : ", 1)
            body = None
            if " := " in rest:
                rest, body = rest.split(" := ", 1)
            hypotheses.append(Hypothesis(tuple(names.split()), rest.strip(), body.strip() if body else None))
    return Goal(tuple(hypotheses), target)
