"""Which library premises are worth trying on a statement: the cheap pre-filter.

Each theorem-like premise of the corpus is read once (its declaration text,
see `coq_terms.declaration_type`) into a shape: the constants of its equation
sides, of its conclusion and of each hypothesis. A premise is a candidate for
a place in a statement (a hypothesis or the conclusion) only if every constant
of the pattern it would have to match there also occurs in that place, and
only if the statement's file can see it (the corpus's accessibility rule).
Patterns with no constant at all (`n = n + 0` read right to left, induction
principles concluding `P n`) would match anything and are left out.

Patterns are indexed by their rarest constant, so a lookup touches only the
premises that could possibly match.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from proofsmith.data_synth.coq_terms import constants, declaration_type, sides
from proofsmith.formats.statement_key import telescope

THEOREM_KINDS = frozenset(
    {"theorem", "lemma", "fact", "remark", "corollary", "proposition", "property", "example"}
)


def is_theorem_kind(kind: str, code: str) -> bool:
    if kind:
        return kind.lower() in THEOREM_KINDS
    words = code.split(None, 1)
    return bool(words) and words[0].lower() in THEOREM_KINDS


@dataclass(frozen=True)
class Pattern:
    """One way to use a premise: what it must match, and how."""

    premise_id: int
    full_name: str
    use: str  # "rewrite ->", "rewrite <-", "apply-hypothesis", "apply-conclusion"
    constants: frozenset[str]

    @property
    def rule(self) -> str:
        return "rewrite" if self.use.startswith("rewrite") else "apply"


@dataclass(frozen=True)
class PremiseShape:
    relation: str | None  # "eq", "iff" or None
    lhs: frozenset[str]
    rhs: frozenset[str]
    conclusion: frozenset[str]
    hypotheses: tuple[frozenset[str], ...]  # non-dependent premises, in order


def premise_shape(code: str) -> PremiseShape | None:
    tokens = declaration_type(code)
    if not tokens:
        return None
    binders, conclusion = telescope(tokens)
    bound = {b.name for b in binders if b.name}
    hypotheses = []
    for i, b in enumerate(binders):
        later = [t for c in binders[i + 1 :] for t in c.type] + conclusion
        # a named binder that nothing later mentions is a hypothesis (`(H : n <> 0)`),
        # unless its type is a single word (`(x : nat)`: an unused variable)
        if b.name is None or (b.name not in later and len(b.type) > 1):
            hypotheses.append(constants(b.type, bound))
    relation, lhs, rhs = None, frozenset(), frozenset()
    split = sides(conclusion)
    if split is not None:
        relation = split[0]
        lhs, rhs = constants(split[1], bound), constants(split[2], bound)
    return PremiseShape(relation, lhs, rhs, constants(conclusion, bound), tuple(hypotheses))


def patterns_of(premise_id: int, full_name: str, shape: PremiseShape) -> list[Pattern]:
    out = []
    if shape.relation is not None:
        if shape.lhs:
            out.append(Pattern(premise_id, full_name, "rewrite ->", shape.lhs))
        if shape.rhs:
            out.append(Pattern(premise_id, full_name, "rewrite <-", shape.rhs))
    if shape.hypotheses and shape.conclusion and shape.relation != "iff":
        out.append(Pattern(premise_id, full_name, "apply-hypothesis", shape.conclusion))
        if len(shape.hypotheses) == 1 and shape.hypotheses[0]:
            out.append(Pattern(premise_id, full_name, "apply-conclusion", shape.hypotheses[0]))
    return out


class PremiseIndex:
    """Patterns of every theorem-like premise, looked up by the constants of a place."""

    def __init__(self, patterns: Iterable[Pattern]):
        self.patterns = list(patterns)
        frequency = Counter(c for p in self.patterns for c in p.constants)
        self._by_key: dict[tuple[str, str], list[Pattern]] = defaultdict(list)
        for p in self.patterns:
            rarest = min(p.constants, key=lambda c: (frequency[c], c))
            self._by_key[(p.rule, rarest)].append(p)

    @classmethod
    def from_premises(cls, premises: Sequence) -> PremiseIndex:
        """`premises`: objects with id, full_name, code, kind (retrieval.corpus.Premise)."""
        patterns = []
        for p in premises:
            if not is_theorem_kind(p.kind, p.code):
                continue
            shape = premise_shape(p.code)
            if shape is not None:
                patterns.extend(patterns_of(p.id, p.full_name, shape))
        return cls(patterns)

    def candidates(
        self,
        rule: str,
        place: frozenset[str],
        uses: Sequence[str],
        accessible: np.ndarray | None = None,
        exclude: int | None = None,
    ) -> list[Pattern]:
        """Patterns for `rule` ("rewrite" or "apply") whose use is in `uses` and whose
        constants all occur in `place`; most specific (most constants) first."""
        found = []
        for constant in place:
            for p in self._by_key.get((rule, constant), ()):
                if p.use not in uses or p.premise_id == exclude:
                    continue
                if accessible is not None and not accessible[p.premise_id]:
                    continue
                if p.constants <= place:
                    found.append(p)
        found.sort(key=lambda p: (-len(p.constants), p.premise_id, p.use))
        return found
