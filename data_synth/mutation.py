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
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from proofsmith.checker.backend import ProofSession
from proofsmith.checker.types import Goal, GoalState, NextState, TacticTimeout, Theorem, Verdict
from proofsmith.data_synth.coq_terms import constants, sides
from proofsmith.data_synth.premise_index import Pattern, PremiseIndex
from proofsmith.formats.mutant_record import Mutant
from proofsmith.formats.statement_key import statement_key, tokenize

RULES = ("rewrite", "apply")

# Introduce the leading products only (unlike `intros`, which would also unfold
# `~ A` into `A -> False`), keeping Coq's own names for them.
INTRO_PRODUCTS = "repeat match goal with |- forall _, _ => intro end."
HEADER_ERROR = "header does not compile"  # CoqSession.open's message for a header Coq refuses
_EVAR = re.compile(r"\?[A-Za-z_]")
MAX_TIMEOUTS = 2


@dataclass(frozen=True)
class LibraryTheorem:
    """A theorem of the traced library: a mutation parent."""

    full_name: str
    path: str
    start: tuple[int, int]
    end: tuple[int, int]
    header: str
    premise_id: int = -1
    fallback_header: str = ""  # tried when `header` does not load


@dataclass(frozen=True)
class Context:
    """An introduced goal: flattened hypotheses (name, type) and the conclusion."""

    hypotheses: tuple[tuple[str, str], ...]
    target: str

    @classmethod
    def of(cls, goal: Goal) -> Context | None:
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
        return statement_key(self.quantified())

    def place_constants(self, location: str) -> frozenset[str]:
        text = self.target if location == "goal" else dict(self.hypotheses)[location]
        return constants(tokenize(text), set(self.names))

    def fresh(self, base: str) -> str:
        return _fresh(self.names, base)


def _fresh(taken: Sequence[str], base: str) -> str:
    """`base`, or `base0`, `base1`, ... whichever is not taken."""
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
    # (style, tactic sentences): "inverse" is Alchemy's (the inverse step, then
    # the parent), "replay" replays the very step that made the mutant
    proofs: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def key(self) -> str:
        return self.context.key()


def _contexts(state: GoalState) -> list[Context]:
    """The goals' contexts of a state `_attempt` accepted (it refuses let-bound ones)."""
    contexts = [c for g in state.goals if (c := Context.of(g)) is not None]
    if len(contexts) != len(state.goals):
        raise ValueError("a let-bound goal that _attempt should have refused")
    return contexts


@dataclass
class RuleCounts:
    attempts: int = 0  # interactive steps asked of the checker
    candidates: int = 0  # steps that gave a new, re-quantifiable statement
    checked: int = 0  # distinct candidates (per parent) sent to the whole-proof check
    verified: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # why checked candidates failed
    rejected: dict[str, int] = field(default_factory=dict)  # why attempts gave no candidate
    styles: dict[str, int] = field(default_factory=dict)  # which proof verified

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


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
    tactic_timeout_s: float = 1.0  # a step that works takes milliseconds
    check_timeout_s: float = 20.0
    rules: tuple[str, ...] = RULES
    # Conditional rewrites (`b <> 0 -> a * b / b = a`) leave side conditions;
    # with this set they become hypotheses of the mutant. Off by default: the
    # hypotheses are often contradictory or make the statement trivial.
    side_conditions: bool = False


def qualified_name(name: str) -> str:
    """A Coq identifier for a mutant of `name`."""
    return re.sub(r"\W", "_", name.removeprefix("Coq."))


def open_parent(
    session: ProofSession, parent: LibraryTheorem, timeout_s: float, bad_headers: set[str] | None = None
) -> tuple[LibraryTheorem, GoalState, Context]:
    """The parent's statement with its leading products introduced; ValueError when Coq cannot.

    When the parent's header does not load, its fallback header is used (and
    the header remembered in `bad_headers`, which a run may share); the
    parent returned carries the header that worked.
    """
    if parent.fallback_header and bad_headers is not None and parent.header in bad_headers:
        parent = replace(parent, header=parent.fallback_header, fallback_header="")
    try:
        state, context = _open(session, parent, timeout_s)
    except ValueError as exc:
        if not parent.fallback_header or HEADER_ERROR not in str(exc):
            raise
        if bad_headers is not None:
            bad_headers.add(parent.header)
        parent = replace(parent, header=parent.fallback_header, fallback_header="")
        state, context = _open(session, parent, timeout_s)
    return parent, state, context


def _open(session: ProofSession, parent: LibraryTheorem, timeout_s: float) -> tuple[GoalState, Context]:
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

    def __init__(self, session: ProofSession, index: PremiseIndex, settings: MutationSettings,
                 timeouts: Counter | None = None, bad_headers: set[str] | None = None):
        self.session = session
        self.index = index
        self.settings = settings
        # Steps that time out are nearly always setoid rewriting lost in instance
        # search; a premise or a place that did it twice is not asked again.
        # `timeouts` may be shared by the mutators of a whole run.
        self.timeouts = timeouts if timeouts is not None else Counter()
        self.bad_headers = bad_headers if bad_headers is not None else set()

    # ------------------------------------------------------------ discovery

    def _attempt(self, state: GoalState, tactic: str, counts: RuleCounts, premise: str, location: str) -> GoalState | None:
        """Run one discovery step; None (and the reason counted) unless it gave usable goals."""
        place = (self._parent, location)
        if self.timeouts[premise] >= MAX_TIMEOUTS or self.timeouts[place] >= MAX_TIMEOUTS:
            counts.reject("not tried: premise or place timed out twice")
            return None
        counts.attempts += 1
        result = self.session.run(state, tactic, self.settings.tactic_timeout_s)
        if isinstance(result, TacticTimeout):
            counts.reject("timeout")
            self.timeouts[premise] += 1
            self.timeouts[place] += 1
            return None
        if not isinstance(result, NextState):
            counts.reject("does not apply")
            return None
        if result.state.pending or _EVAR.search(result.state.text):
            counts.reject("leaves existential variables")
            return None
        if any(Context.of(g) is None for g in result.state.goals):
            counts.reject("let-bound context")
            return None
        return result.state

    def rewrite_candidates(self, state: GoalState, ctx: Context, accessible, parent: LibraryTheorem, counts: RuleCounts):
        steps = []
        for location in ("goal", *ctx.names):
            place = ctx.place_constants(location)
            for p in self.index.candidates("rewrite", place, ("rewrite ->", "rewrite <-"), accessible, parent.premise_id):
                steps.append((p, location))
        steps.sort(key=lambda s: (-len(s[0].constants), s[0].premise_id, s[0].use, s[1] != "goal"))
        args = " ".join(ctx.names)
        call = f"exact (@{parent.full_name} {args})." if args else f"exact (@{parent.full_name})."
        for p, location in steps[: self.settings.max_attempts]:
            arrow = "" if p.use == "rewrite ->" else "<- "
            inverse = "<- " if p.use == "rewrite ->" else ""
            where = "" if location == "goal" else f" in {location}"
            tactic = f"rewrite {arrow}{p.full_name}{where}."
            after = self._attempt(state, tactic, counts, p.full_name, location)
            if after is None:
                continue
            main, *side_goals = _contexts(after)
            if main.names != ctx.names or any(g.names != ctx.names for g in side_goals):
                counts.reject("changes the context")
                continue
            if main == ctx:
                counts.reject("no change")
                continue
            changed = main.target if location == "goal" else dict(main.hypotheses)[location]
            if _trivial(changed):
                counts.reject("trivial (X = X)")
                continue
            if side_goals and not self.settings.side_conditions:
                counts.reject("side conditions")
                continue
            # a conditional equation's side conditions become hypotheses of the mutant
            side_names: list[str] = []
            for _ in side_goals:
                side_names.append(_fresh(ctx.names + tuple(side_names), "Hside"))
            new = Context(main.hypotheses + tuple(zip(side_names, (g.target for g in side_goals))), main.target)
            by = " by assumption" if side_goals else ""
            intro = f"intros {' '.join(new.names)}." if new.names else None
            if location == "goal":
                hp = _fresh(new.names, "Hparent")
                replay = (f"pose proof (@{parent.full_name} {args}) as {hp}.", f"rewrite {arrow}{p.full_name} in {hp}{by}.", f"exact {hp}.")
            else:
                fixed = " ".join(f"(ltac:(rewrite {arrow}{p.full_name}{by}; exact {n}))" if n == location else n for n in ctx.names)
                replay = (f"exact (@{parent.full_name} {fixed}).",)
            proofs = (
                ("inverse", _script(intro, f"rewrite {inverse}{p.full_name}{where}{by}.", call)),
                ("replay", _script(intro, *replay)),
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
        for p, location in steps[: self.settings.max_attempts]:
            found = (self._consequent if location == "goal" else self._antecedents)(state, ctx, location, p.full_name, parent, counts)
            if found is None:
                continue
            new, tactic, proofs = found
            yield Candidate("apply", p.use, p.full_name, location, tactic, new, proofs)

    def _consequent(self, state: GoalState, ctx: Context, _location: str, premise: str, parent: LibraryTheorem, counts: RuleCounts):
        """The parent's conclusion `C` through `premise : C -> D`: the mutant concludes D."""
        args = " ".join(ctx.names)
        hp = ctx.fresh("Hparent")
        tactic = f"pose proof (@{parent.full_name} {args}) as {hp}; apply {premise} in {hp}."
        after = self._attempt(state, tactic, counts, premise, "goal")
        if after is None:
            return None
        if len(after.goals) != 1:
            counts.reject("side goals")
            return None
        got = _contexts(after)[0]
        if got.names != ctx.names + (hp,):
            counts.reject("changes the context")
            return None
        new = Context(ctx.hypotheses, got.hypotheses[-1][1])
        if new.target == ctx.target:
            counts.reject("no change")
            return None
        if _trivial(new.target):
            counts.reject("trivial (X = X)")
            return None
        intro = f"intros {' '.join(new.names)}." if new.names else None
        call = f"exact (@{parent.full_name} {args})." if args else f"exact (@{parent.full_name})."
        proofs = (
            ("inverse", _script(intro, f"apply {premise}.", call)),
            ("replay", _script(intro, f"pose proof (@{parent.full_name} {args}) as {hp}.", f"apply {premise} in {hp}.", f"exact {hp}.")),
        )
        return new, tactic, proofs

    def _antecedents(self, state: GoalState, ctx: Context, name: str, premise: str, parent: LibraryTheorem, counts: RuleCounts):
        """Hypothesis `name : A` through `premise : A1 -> ... -> A`: the mutant assumes A1, ... instead."""
        later = [t for _, typ in ctx.hypotheses[ctx.names.index(name) + 1 :] for t in tokenize(typ)] + tokenize(ctx.target)
        if name in later:
            return None  # something depends on the hypothesis itself: it cannot be replaced
        copy = ctx.fresh("Hmut")
        tactic = f"let T := type of {name} in assert ({copy} : T); [apply {premise}|]."
        after = self._attempt(state, tactic, counts, premise, name)
        if after is None:
            return None
        *pre_goals, _main = _contexts(after)
        original = dict(ctx.hypotheses)[name]
        if not pre_goals:
            counts.reject("no antecedent")
            return None
        if any(g.hypotheses != ctx.hypotheses for g in pre_goals):
            counts.reject("changes the context")
            return None
        if any(g.target == original for g in pre_goals):
            counts.reject("no change")
            return None
        names = [name]
        for _ in pre_goals[1:]:
            names.append(_fresh(ctx.names + tuple(names), f"{name}_"))
        hyps: list[tuple[str, str]] = []
        for n, typ in ctx.hypotheses:
            hyps.extend(zip(names, (g.target for g in pre_goals)) if n == name else [(n, typ)])
        new = Context(tuple(hyps), ctx.target)
        args = " ".join(ctx.names)
        intro = f"intros {' '.join(new.names)}."
        fixed = " ".join(f"(ltac:(apply {premise}; assumption))" if n == name else n for n in ctx.names)
        replay = _script(intro, f"exact (@{parent.full_name} {fixed}).")
        if len(pre_goals) == 1:
            inverse = _script(intro, f"apply {premise} in {name}.", f"exact (@{parent.full_name} {args}).")
            proofs = (("inverse", inverse), ("replay", replay))
        else:
            proofs = (("replay", replay),)
        return new, tactic, proofs

    # ------------------------------------------------------------ the whole parent

    def mutate(self, parent: LibraryTheorem, accessible: np.ndarray | None) -> ParentOutcome:
        t0 = time.monotonic()
        self._parent = parent.full_name
        outcome = ParentOutcome(parent.full_name)
        try:
            parent, state, ctx = open_parent(self.session, parent, self.settings.tactic_timeout_s, self.bad_headers)
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
                if _assumed(cand.context):
                    counts.reject("trivial (conclusion assumed)")
                    continue
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
                    counts.styles[mutant.proof_style] = counts.styles.get(mutant.proof_style, 0) + 1
                    outcome.mutants.append(mutant)
        outcome.seconds = time.monotonic() - t0
        return outcome

    def _verify(self, parent: LibraryTheorem, parent_stmt: str, name: str, cand: Candidate, counts: RuleCounts) -> Mutant | None:
        statement = f"Theorem {name} : {cand.context.quantified()}."
        theorem = Theorem(name, statement, parent.header)
        reason = ""
        for style, proof in cand.proofs:
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
    split = sides(tokenize(target))
    return split is not None and split[1] == split[2]


def _assumed(ctx: Context) -> bool:
    """The conclusion is one of the hypotheses, or a hypothesis is `False`."""
    return any(typ == ctx.target or typ == "False" for _, typ in ctx.hypotheses)


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
