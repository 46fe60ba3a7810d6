"""Symbolic mutation of library theorems (Alchemy's rewrite and apply rules), asked of Coq.

A parent theorem is opened by name (`type of @Full.name`, so the statement is
exactly what Coq has, printed in the parent file's notations) and its leading
products are introduced. From that state the checker is asked, for every
premise the index lets through:

- rewrite: `rewrite [<-] Q` on the conclusion and `rewrite [<-] Q in H` on each
  hypothesis. The new goal, re-quantified over the introduced context, is the
  mutant: the matched subterm replaced by the other side of Q. Its proof is
  the inverse rewrite followed by the parent (`rewrite <- Q. exact (@P x H)`).
- apply, hypothesis: on a copy of hypothesis `H : A`, `apply Q` with
  `Q : A1 -> ... -> A`; the goals it leaves are the antecedents A1..., which
  replace H (a stronger assumption, so the mutant follows from the parent).
  Proof: `apply Q in H. exact (@P x H)`.
- apply, conclusion: `apply Q in` the parent's own conclusion, `Q : C -> D`;
  the mutant concludes D (a weaker conclusion). Proof: `apply Q. exact (@P x H)`.

Each candidate carries its proofs in order of preference (Alchemy's inverse
step first, then a forward replay of the very step that made the mutant);
the checker's guarded whole-proof check decides which, if any, is a proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from checker.backend import ProofSession
from checker.types import Goal, GoalState, NextState, Theorem, Verdict
from data_synth.coq_terms import alpha_key, constants, tokenize
from data_synth.premise_index import Pattern, PremiseIndex

RULES = ("rewrite", "apply")

# Introduce the leading products only (unlike `intros`, which would also unfold
# `~ A` into `A -> False`), keeping Coq's own names for them.
INTRO_PRODUCTS = "repeat match goal with |- forall _, _ => intro end."
_EVAR = re.compile(r"\?[A-Za-z_]")


@dataclass(frozen=True)
class LibraryTheorem:
    """A theorem of the traced library: a mutation parent."""

    full_name: str
    path: str
    start: tuple[int, int]
    end: tuple[int, int]
    header: str
    premise_id: int = -1


@dataclass(frozen=True)
class Context:
    """An introduced goal: flattened hypotheses (name, type) and the conclusion."""

    hypotheses: tuple[tuple[str, str], ...]
    target: str

    @classmethod
    def of(cls, goal: Goal) -> "Context | None":
        hyps = []
        for h in goal.hypotheses:
            if h.body is not None:
                return None  # a `let` in the statement: not re-quantifiable as a forall
            hyps.extend((name, _one_line(h.type)) for name in h.names)
        return cls(tuple(hyps), _one_line(goal.target))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.hypotheses)

    def quantified(self) -> str:
        """`forall (x y : T) (H : A), C`, grouping neighbours of the same type."""
        if not self.hypotheses:
            return self.target
        groups: list[tuple[list[str], str]] = []
        for name, typ in self.hypotheses:
            if groups and groups[-1][1] == typ:
                groups[-1][0].append(name)
            else:
                groups.append(([name], typ))
        binders = " ".join(f"({' '.join(names)} : {typ})" for names, typ in groups)
        return f"forall {binders}, {self.target}"

    def key(self) -> str:
        return alpha_key(tokenize(self.quantified()))

    def place_constants(self, location: str) -> frozenset[str]:
        text = self.target if location == "goal" else dict(self.hypotheses)[location]
        return constants(tokenize(text), set(self.names))

    def fresh(self, base: str) -> str:
        taken = set(self.names)
        if base not in taken:
            return base
        i = 0
        while f"{base}{i}" in taken:
            i += 1
        return f"{base}{i}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Candidate:
    """A mutant statement the checker's interactive step produced, with proofs to try."""

    rule: str
    use: str  # the pattern's use: "rewrite ->", "rewrite <-", "apply-hypothesis", "apply-conclusion"
    premise: str
    location: str  # "goal" or the hypothesis name
    tactic: str  # the step that produced it
    context: Context
    proofs: tuple[tuple[str, ...], ...]  # each a list of tactic sentences

    @property
    def key(self) -> str:
        return self.context.key()


@dataclass(frozen=True)
class Mutant:
    """A verified mutant: a new theorem with its proof and provenance."""

    name: str
    header: str
    statement: str
    proof: str
    key: str
    parent: str
    parent_statement: str
    rule: str
    use: str
    premise: str
    location: str
    discovery_tactic: str
    proof_style: str  # "inverse" (Alchemy) or "replay"
    traced_tactics: tuple[dict, ...]
    checker: dict


@dataclass
class RuleCounts:
    attempts: int = 0  # interactive steps asked of the checker
    candidates: int = 0  # steps that gave a new, re-quantifiable statement
    checked: int = 0  # distinct candidates (per parent) sent to the whole-proof check
    verified: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # why checked candidates failed

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


@dataclass
class ParentOutcome:
    parent: str
    statement: str = ""  # `Theorem ... .` as Coq prints it, products introduced
    key: str = ""
    error: str = ""  # why the parent could not be opened
    counts: dict[str, RuleCounts] = field(default_factory=lambda: {r: RuleCounts() for r in RULES})
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class MutationSettings:
    max_attempts: int = 200  # per rule per parent, most specific premises first
    tactic_timeout_s: float = 5.0
    check_timeout_s: float = 20.0
    rules: tuple[str, ...] = RULES


def qualified_name(name: str) -> str:
    """A Coq identifier for a mutant of `name`."""
    return re.sub(r"\W", "_", name.removeprefix("Coq."))


def open_parent(session: ProofSession, parent: LibraryTheorem, timeout_s: float) -> tuple[GoalState, Context]:
    """The parent's statement with its leading products introduced; ValueError when Coq cannot."""
    probe = Theorem(
        qualified_name(parent.full_name),
        f"Theorem {qualified_name(parent.full_name)} : ltac:(let T := type of @{parent.full_name} in exact T).",
        parent.header,
    )
    state = session.open(probe, timeout_s)  # raises ValueError with Coq's message
    result = session.run(state, INTRO_PRODUCTS, timeout_s)
    if not isinstance(result, NextState) or len(result.state.goals) != 1:
        raise ValueError(f"{parent.full_name}: introducing its products failed: {result}")
    context = Context.of(result.state.goals[0])
    if context is None:
        raise ValueError(f"{parent.full_name}: the statement has a let-binding")
    return result.state, context


def parent_statement(parent: LibraryTheorem, context: Context) -> str:
    return f"Theorem {qualified_name(parent.full_name)} : {context.quantified()}."


class Mutator:
    """Finds, checks and traces the mutants of one parent with one session."""

    def __init__(self, session: ProofSession, index: PremiseIndex, settings: MutationSettings):
        self.session = session
        self.index = index
        self.settings = settings

    # ------------------------------------------------------------ discovery

    def _step(self, state: GoalState, tactic: str) -> GoalState | None:
        result = self.session.run(state, tactic, self.settings.tactic_timeout_s)
        return result.state if isinstance(result, NextState) else None

    def _single(self, state: GoalState | None) -> Context | None:
        if state is None or len(state.goals) != 1 or state.pending or _EVAR.search(state.text):
            return None
        return Context.of(state.goals[0])

    def rewrite_candidates(self, state: GoalState, ctx: Context, accessible, parent: LibraryTheorem, counts: RuleCounts):
        steps = []
        for location in ("goal", *ctx.names):
            place = ctx.place_constants(location)
            for p in self.index.candidates("rewrite", place, ("rewrite ->", "rewrite <-"), accessible, parent.premise_id):
                steps.append((p, location))
        steps.sort(key=lambda s: (-len(s[0].constants), s[0].premise_id, s[0].use, s[1] != "goal"))
        for p, location in steps[: self.settings.max_attempts]:
            arrow = "" if p.use == "rewrite ->" else "<- "
            inverse = "<- " if p.use == "rewrite ->" else ""
            where = "" if location == "goal" else f" in {location}"
            tactic = f"rewrite {arrow}{p.full_name}{where}."
            counts.attempts += 1
            new = self._single(self._step(state, tactic))
            if new is None or new.names != ctx.names or new == ctx or _trivial(new.target):
                continue
            args = " ".join(ctx.names)
            intro = f"intros {' '.join(new.names)}." if new.names else None
            call = f"exact (@{parent.full_name} {args})." if args else f"exact (@{parent.full_name})."
            if location == "goal":
                hp = ctx.fresh("Hparent")
                replay = (f"pose proof (@{parent.full_name} {args}) as {hp}.", f"rewrite {arrow}{p.full_name} in {hp}.", f"exact {hp}.")
            else:
                fixed = " ".join(f"(ltac:(rewrite {arrow}{p.full_name}; exact {n}))" if n == location else n for n in ctx.names)
                replay = (f"exact (@{parent.full_name} {fixed}).",)
            proofs = (
                _script(intro, f"rewrite {inverse}{p.full_name}{where}.", call),
                _script(intro, *replay),
            )
            yield Candidate("rewrite", p.use, p.full_name, location, tactic, new, proofs)

    def apply_candidates(self, state: GoalState, ctx: Context, accessible, parent: LibraryTheorem, counts: RuleCounts):
        steps: list[tuple[Pattern, str]] = []
        for name in ctx.names:
            place = ctx.place_constants(name)
            for p in self.index.candidates("apply", place, ("apply-hypothesis",), accessible, parent.premise_id):
                steps.append((p, name))
        for p in self.index.candidates("apply", ctx.place_constants("goal"), ("apply-conclusion",), accessible, parent.premise_id):
            steps.append((p, "goal"))
        steps.sort(key=lambda s: (-len(s[0].constants), s[0].premise_id, s[1] != "goal"))
        args = " ".join(ctx.names)
        for p, location in steps[: self.settings.max_attempts]:
            counts.attempts += 1
            if location == "goal":
                hp = ctx.fresh("Hparent")
                tactic = f"pose proof (@{parent.full_name} {args}) as {hp}; apply {p.full_name} in {hp}."
                after = self._single(self._step(state, tactic))
                if after is None or after.names != ctx.names + (hp,):
                    continue
                new = Context(ctx.hypotheses, after.hypotheses[-1][1])
                if new.target == ctx.target or _trivial(new.target):
                    continue
                intro = f"intros {' '.join(new.names)}." if new.names else None
                call = f"exact (@{parent.full_name} {args})." if args else f"exact (@{parent.full_name})."
                proofs = (
                    _script(intro, f"apply {p.full_name}.", call),
                    _script(intro, f"pose proof (@{parent.full_name} {args}) as {hp}.", f"apply {p.full_name} in {hp}.", f"exact {hp}."),
                )
                yield Candidate("apply", p.use, p.full_name, "goal", tactic, new, proofs)
                continue
            new = self._antecedents(state, ctx, location, p.full_name)
            if new is None:
                continue
            new_ctx, added = new
            intro = f"intros {' '.join(new_ctx.names)}."
            fixed = " ".join(f"(ltac:(apply {p.full_name}; assumption))" if n == location else n for n in ctx.names)
            inverse = (
                _script(intro, f"apply {p.full_name} in {location}.", f"exact (@{parent.full_name} {args}).")
                if added == 1
                else None
            )
            replay = _script(intro, f"exact (@{parent.full_name} {fixed}).")
            proofs = tuple(x for x in (inverse, replay) if x is not None)
            yield Candidate("apply", p.use, p.full_name, location, f"apply {p.full_name}. (on a copy of {location})", new_ctx, proofs)

    def _antecedents(self, state: GoalState, ctx: Context, name: str, premise: str) -> tuple[Context, int] | None:
        """Replace hypothesis `name : A` by the goals `apply premise` leaves on `A`."""
        later = [t for _, typ in ctx.hypotheses[ctx.names.index(name) + 1 :] for t in tokenize(typ)] + tokenize(ctx.target)
        if name in later:
            return None  # something depends on the hypothesis itself
        copy = ctx.fresh("Hmut")
        tactic = f"let T := type of {name} in assert ({copy} : T); [apply {premise}|]."
        after = self._step(state, tactic)
        if after is None or after.pending or len(after.goals) < 2 or _EVAR.search(after.text):
            return None
        *pre_goals, main = after.goals
        original = dict(ctx.hypotheses)[name]
        antecedents = []
        for g in pre_goals:
            c = Context.of(g)
            if c is None or c.hypotheses != ctx.hypotheses:
                return None
            if c.target == original or _trivial(c.target):
                return None
            antecedents.append(c.target)
        if not antecedents or Context.of(main) is None:
            return None
        names = [name] + [ctx.fresh(f"{name}_") for _ in antecedents[1:]]
        hyps = []
        for n, typ in ctx.hypotheses:
            if n == name:
                hyps.extend(zip(names, antecedents))
            else:
                hyps.append((n, typ))
        return Context(tuple(hyps), ctx.target), len(antecedents)

    # ------------------------------------------------------------ the whole parent

    def mutate(self, parent: LibraryTheorem, accessible: np.ndarray | None, source_keys: frozenset[str] = frozenset()) -> ParentOutcome:
        import time

        t0 = time.monotonic()
        outcome = ParentOutcome(parent.full_name)
        try:
            state, ctx = open_parent(self.session, parent, self.settings.tactic_timeout_s)
        except ValueError as exc:
            outcome.error = _one_line(str(exc))[:300]
            outcome.seconds = time.monotonic() - t0
            return outcome
        outcome.statement = parent_statement(parent, ctx)
        outcome.key = ctx.key()
        base = qualified_name(parent.full_name)
        for rule in self.settings.rules:
            counts = outcome.counts[rule]
            finder = self.rewrite_candidates if rule == "rewrite" else self.apply_candidates
            seen = {outcome.key}
            number = 0
            for cand in finder(state, ctx, accessible, parent, counts):
                counts.candidates += 1
                key = cand.key
                if key in seen:
                    continue
                seen.add(key)
                counts.checked += 1
                number += 1
                mutant = self._verify(parent, outcome.statement, f"{base}_{rule[:2]}{number}", cand, counts)
                if mutant is not None:
                    counts.verified += 1
                    outcome.mutants.append(mutant)
        outcome.seconds = time.monotonic() - t0
        return outcome

    def _verify(self, parent: LibraryTheorem, parent_stmt: str, name: str, cand: Candidate, counts: RuleCounts) -> Mutant | None:
        statement = f"Theorem {name} : {cand.context.quantified()}."
        theorem = Theorem(name, statement, parent.header)
        reason = ""
        for style, proof in zip(("inverse", "replay"), cand.proofs):
            result = self.session.check(theorem, " ".join(proof), self.settings.check_timeout_s)
            if result.verdict is Verdict.PROVED:
                return Mutant(
                    name=name,
                    header=parent.header,
                    statement=statement,
                    proof=" ".join(proof),
                    key=cand.key,
                    parent=parent.full_name,
                    parent_statement=parent_stmt,
                    rule=cand.rule,
                    use=cand.use,
                    premise=cand.premise,
                    location=cand.location,
                    discovery_tactic=cand.tactic,
                    proof_style=style,
                    traced_tactics=tuple(self._trace(theorem, proof)),
                    checker=result.checker_record(),
                )
            reason = _failure_kind(result.reason, result.verdict)
            if reason == "statement does not re-elaborate":
                break
        counts.fail(reason)
        return None

    def _trace(self, theorem: Theorem, proof: Sequence[str]) -> list[dict]:
        """(state before, tactic, state after) for each step of a verified proof."""
        steps = []
        state = self.session.open(theorem, self.settings.check_timeout_s)
        for tactic in proof:
            result = self.session.run(state, tactic, self.settings.check_timeout_s)
            after = getattr(result, "state", None)
            if after is None:
                break
            steps.append({"tactic": tactic, "state_before": state.text, "state_after": after.text})
            state = after
        return steps


def _script(*sentences: str | None) -> tuple[str, ...]:
    return tuple(s for s in sentences if s)


def _trivial(target: str) -> bool:
    """`X = X` or `X <-> X`: true by reflexivity, not worth a theorem."""
    from data_synth.coq_terms import sides

    split = sides(tokenize(target))
    return split is not None and split[1] == split[2]


def _failure_kind(reason: str, verdict: Verdict) -> str:
    if verdict is Verdict.TIMEOUT:
        return "timeout"
    if reason.startswith("statement does not compile"):
        return "statement does not re-elaborate"
    if reason.startswith("error at sentence") or reason.startswith("incomplete proof"):
        return "proof fails"
    if "axiom" in reason:
        return "axioms"
    return reason.split(":", 1)[0][:60] or verdict.value
