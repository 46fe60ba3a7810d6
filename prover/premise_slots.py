"""Premise slots: the premise arguments of a remembered tactic, refilled with premises ranked for the goal.

A tactic memory replays what the library did: `rewrite Nat.add_comm.` is
proposed where `Nat.add_comm` was used before, and a goal that needs
`Nat.mul_comm`, which no training proof used, is out of reach. Here a
remembered tactic's premise arguments become slots (`rewrite X`, `rewrite <- X`,
`rewrite A, X`, `erewrite X`, `apply X`, `eapply X`, `exact X`, `apply (X a)`,
`destruct (X ...)`, `pose proof (X ...)`, `specialize (X ...)`, ...): a name
there that is not a hypothesis of the remembered state. `premise_slots`
finds them; `PremiseSlot.fill` puts another name in one of them.

What goes into a slot comes from `PremiseStatements`: every premise of the
library's corpus embedded from its own statement (its type, as Coq prints
it) with the memory's feature encoder, the encoder that embeds proof states,
so a goal's key and a premise's statement are compared in one space
(Graph2Tac's idea of embedding definitions from what they say, in
Tactician's hashed-feature form). A premise never used in any proof, or
defined in the target's file above it, is as findable as a popular one. The
ranking honours accessibility inside FAISS (a mask of the premises in the
files the target's file imports, transitively, and those earlier in its own
file: `retrieval.corpus.Corpus.accessible_mask`), and a rewrite slot takes
only premises whose statement is an equation or an equivalence. The
embedding's best candidates (over-fetched) are re-ranked with the rare
symbols they share with the goal's conclusion (an IDF-weighted cosine over
the statements' symbols): hashed features weigh `=` and `0` as much as
`count_occ`, and a rewrite needs the rare head symbol to match.

A premise is named as the target can refer to it: by its full name when it
comes from another file, by its name inside the file's module when it is the
target's own file's (`Coq.Lists.List.app_nil_r` is `app_nil_r` inside
List.v, where a section may still be open).

The vectors are cached on disk, keyed by the corpus content and the encoder
(the stdlib's 37k premises embed in well under a minute on one core).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proofsmith.checker.types import Theorem
from proofsmith.prover.library_order import file_modules
from proofsmith.prover.premises import RetrievedPremise
from proofsmith.prover.tactic_memory import state_key
from proofsmith.retrieval.corpus import Corpus, CorpusError, Premise
from proofsmith.retrieval.index import PremiseIndex
from proofsmith.retrieval.retriever import theorem_place

REWRITE, APPLY, TERM = "rewrite", "apply", "term"
SLOT_KINDS = (REWRITE, APPLY, TERM)

# The declaration kinds a slot may be filled with: facts and constructors (not definitions, which
# a rewrite or apply cannot use as they stand, and not axioms, which the checker would refuse).
FILLABLE_KINDS = frozenset({
    "Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Property", "Example", "Constructor",
})

_NAME = r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*"
_REWRITE = re.compile(r"(?<![\w'.])(?:rewrite|erewrite|setoid_rewrite)(?:\s*[!?])?(?![\w'])")
_APPLY = re.compile(r"(?<![\w'.])(?:apply|eapply|exact|eexact|simple\s+apply|simple\s+eapply)\s+(?:@\s*)?(\(\s*)?(@\s*)?(" + _NAME + ")")
_TERM = re.compile(r"(?<![\w'.])(?:destruct|edestruct|pose\s+proof|specialize|generalize|elim|case|inversion)\s*\(\s*(@\s*)?(" + _NAME + ")")
_REWRITE_TERM = re.compile(r"\s*(?:<-|->)?\s*(?:\d*[!?])?\s*(\(\s*)?(@\s*)?(" + _NAME + ")")
# A name Coq gives meaning without a premise: tactic keywords that can follow `rewrite`/`apply`.
_NOT_PREMISES = frozenset({"in", "at", "by", "with", "as", "using", "fun", "forall", "let", "match", "_"})
# The separators that end one rewrite term and may start the next.
_EQUATION = re.compile(r"(?<![<>=:])=(?![=>])|<->")


@dataclass(frozen=True)
class PremiseSlot:
    """A premise name in a tactic that another premise's name may replace."""

    kind: str  # REWRITE (its filler must be an equation or equivalence), APPLY or TERM
    start: int  # the name's span in the tactic
    end: int
    name: str

    def fill(self, tactic: str, premise: str) -> str:
        return tactic[: self.start] + premise + tactic[self.end:]

    def single_step(self, tactic: str) -> tuple[str, PremiseSlot] | None:
        """The one-premise step this slot's part of `tactic` comes down to, with its slot there:
        `rewrite <- X` from `now rewrite A, <- X by lia.`, `apply X.` from `apply (X a) with b; auto.`
        (`exact` becomes `apply`, which also takes a premise that needs arguments). None for a
        TERM slot, whose arguments the premise cannot go without."""
        if self.kind == REWRITE:
            heads = [m for m in _REWRITE.finditer(tactic) if m.end() <= self.start]
            if not heads:
                return None
            head = heads[-1]
            keyword = head.group(0).rstrip("!? ").split()[0]
            arrow = "<-" in tactic[head.end(): self.start]
            step = f"{keyword}{' <-' if arrow else ''} "
        elif self.kind == APPLY:
            head = next((m for m in _APPLY.finditer(tactic) if m.start(3) == self.start), None)
            if head is None:
                return None
            keyword = head.group(0).split()[0]
            step = {"exact": "apply ", "eexact": "eapply ", "simple": "apply "}.get(keyword, keyword + " ")
            if keyword == "simple" and "eapply" in head.group(0).split()[1]:
                step = "eapply "
        else:
            return None
        # the hypothesis the step works in stays (`rewrite A, B in H` -> `rewrite B in H`)
        clause = re.split(r";|\sby\s|\|\||\.\s*$", tactic[self.end:], maxsplit=1)[0]
        target = re.search(r"\sin\s+(\*|[A-Za-z_][\w']*)", clause)
        where = f" in {target.group(1)}" if target else ""
        return (step + self.name + where + ".",
                PremiseSlot(self.kind, len(step), len(step) + len(self.name), self.name))


def premise_slots(tactic: str, hypotheses: Collection[str] = ()) -> list[PremiseSlot]:
    """The slots of `tactic`: names in premise-argument positions that are not one of `hypotheses`
    (the names of the remembered state's hypotheses), in the order they appear."""
    slots: list[PremiseSlot] = []
    for m in _APPLY.finditer(tactic):
        slots.append(PremiseSlot(APPLY, m.start(3), m.end(3), m.group(3)))
    for m in _TERM.finditer(tactic):
        slots.append(PremiseSlot(TERM, m.start(2), m.end(2), m.group(2)))
    for m in _REWRITE.finditer(tactic):
        at = m.end()
        while True:
            term = _REWRITE_TERM.match(tactic, at)
            if term is None or term.group(3) in _NOT_PREMISES:
                break
            slots.append(PremiseSlot(REWRITE, term.start(3), term.end(3), term.group(3)))
            at = _end_of_term(tactic, term.end(3), opened=term.group(1) is not None)
            comma = re.match(r"\s*,", tactic[at:])
            if comma is None:
                break
            at += comma.end()
    return sorted((s for s in slots if s.name not in hypotheses and s.name not in _NOT_PREMISES),
                  key=lambda s: s.start)


def _end_of_term(text: str, at: int, opened: bool) -> int:
    """Where a rewrite term that started before `at` ends: after its closing parenthesis when it
    opened one, else at the next top-level comma, `in`/`at`/`by`, `;`, `|`, `]` or the final period."""
    depth = 1 if opened else 0
    i = at
    while i < len(text):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0 and opened:
                return i + 1
        elif depth == 0 and (c in ",;|]" or (c == "." and (i + 1 == len(text) or text[i + 1].isspace()))):
            return i
        elif depth == 0 and re.match(r"\s(?:in|at|by)\b", text[i:]):
            return i
        i += 1
    return i


def statement_text(premise: Premise) -> str:
    """What a premise says, as embedded: its type (Coq prints `name : type`), on one line."""
    _, sep, typ = premise.code.partition(" : ")
    return " ".join((typ if sep else premise.code).split())


def is_equation(premise: Premise) -> bool:
    """Whether a premise's statement ends in an equation or an equivalence (what `rewrite` uses)."""
    text = statement_text(premise)
    conclusion = re.split(r"->|,", text)[-1]
    return bool(_EQUATION.search(conclusion))


_SYMBOL = re.compile(r"[A-Za-z_][\w'.]*|\d+|[^\s\w()]+")
# How many embedding neighbours the symbol re-ranking looks at, per premise asked for.
OVERFETCH = 8
# The embedding's and the symbols' shares of a premise's score.
SYMBOL_WEIGHT = 0.5


def _symbols(text: str) -> frozenset[str]:
    return frozenset(_SYMBOL.findall(text))


class PremiseStatements:
    """The corpus's premises embedded from their statements, ranked for a goal among those accessible."""

    def __init__(self, corpus: Corpus, encoder, vectors: np.ndarray, modules: dict[str, str] | None = None):
        """`modules`: each corpus file's logical module (`theories/Lists/List.v` -> `Coq.Lists.List`),
        to name a premise of the target's own file as the file does."""
        if vectors.shape != (len(corpus), encoder.dim):
            raise ValueError(f"premise statements: {vectors.shape} vectors for {len(corpus)} premises")
        self.corpus = corpus
        self.encoder = encoder
        self.modules = dict(modules or {})
        self._symbols = [_symbols(statement_text(p)) for p in corpus.premises]
        counts: dict[str, int] = {}
        for found in self._symbols:
            for symbol in found:
                counts[symbol] = counts.get(symbol, 0) + 1
        n = len(corpus)
        self._idf = {symbol: math.log(n / df) for symbol, df in counts.items()}
        self._norms = [math.sqrt(sum(self._idf[t] ** 2 for t in found)) or 1.0 for found in self._symbols]
        self.index = PremiseIndex.build(corpus, vectors, "none", {"name": encoder.name})
        fillable = np.array([p.kind in FILLABLE_KINDS and not p.admitted for p in corpus.premises], dtype=bool)
        equations = np.array([is_equation(p) for p in corpus.premises], dtype=bool)
        self._kind_masks = {REWRITE: fillable & equations, APPLY: fillable, TERM: fillable}
        self._masks: dict[tuple[str | None, tuple[int, int] | None], np.ndarray | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def of_trace(cls, trace_dir: str | Path, encoder, cache_dir: str | Path | None = None) -> PremiseStatements:
        """The premises of `<trace_dir>/corpus.jsonl`, embedded with `encoder` (cached in `cache_dir`,
        default: the tactic memory's cache folder)."""
        from proofsmith.prover.tactic_memory import TacticMemoryError, default_cache_dir

        try:
            corpus = Corpus.load(Path(trace_dir) / "corpus.jsonl")
        except CorpusError as exc:
            raise TacticMemoryError(f"premise slots: {exc}") from None
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = hashlib.sha256(f"statements-v1:{corpus.content_hash}:{encoder.fingerprint()}".encode()).hexdigest()[:32]
        path = folder / "premise_statements" / f"{key}.npy"
        vectors = None
        if path.is_file():
            vectors = np.load(path)
            if vectors.shape != (len(corpus), encoder.dim):
                vectors = None
        if vectors is None:
            vectors = encoder.encode([statement_text(p) for p in corpus.premises])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, path)
        return cls(corpus, encoder, vectors, file_modules(Path(trace_dir), corpus.files))

    def rank(self, goal_key: str, theorem: Theorem, kind: str, k: int) -> list[tuple[Premise, float]]:
        """The k premises accessible to `theorem` that suit a `kind` slot, most similar to the goal first
        (embedding neighbours re-ranked by the rare symbols they share with the goal's conclusion)."""
        if k < 1:
            return []
        mask = self._accessible(theorem) & self._kind_masks[kind]
        query = self.encoder.encode([goal_key])
        scores, ids = self.index.search(query, k * OVERFETCH, mask)
        goal = _symbols(goal_key.split("\n", 1)[0])
        goal_norm = math.sqrt(sum(self._idf.get(t, 0.0) ** 2 for t in goal)) or 1.0
        ranked = []
        for score, i in zip(scores[0], ids[0]):
            if i < 0:
                continue
            shared = goal & self._symbols[int(i)]
            overlap = sum(self._idf[t] ** 2 for t in shared) / (goal_norm * self._norms[int(i)])
            ranked.append((self.corpus.premises[int(i)], (1 - SYMBOL_WEIGHT) * float(score) + SYMBOL_WEIGHT * overlap))
        ranked.sort(key=lambda item: -item[1])
        return ranked[:k]

    def retrieve(self, goal: str, theorem: Theorem, k: int) -> list[RetrievedPremise]:
        """The prover's premise-retriever protocol (prover.premises): the k premises best ranked for
        `goal`'s key, named as `theorem` refers to them (the model-free generator's apply/rewrite/exact)."""
        return [RetrievedPremise(self.name_for(p, theorem), statement_text(p), score)
                for p, score in self.rank(state_key(goal), theorem, APPLY, k)]

    def name_for(self, premise: Premise, theorem: Theorem) -> str:
        """How `theorem`'s proof refers to `premise`: inside its own file's module by the name there."""
        path, _ = theorem_place(self.corpus, theorem)
        module = self.modules.get(premise.path)
        if path != premise.path or not module or not premise.full_name.startswith(module + "."):
            return premise.full_name
        # inside the modules (or functor) the target itself stands in, their members go by their own names
        inner = premise.full_name[len(module) + 1:].split(".")
        around = theorem.name[len(module) + 1:].split(".")[:-1] if theorem.name.startswith(module + ".") else []
        shared = 0
        while shared < min(len(inner) - 1, len(around)) and inner[shared] == around[shared]:
            shared += 1
        return ".".join(inner[shared:])

    def _accessible(self, theorem: Theorem) -> np.ndarray:
        path, pos = theorem_place(self.corpus, theorem)
        key = (path, pos)
        with self._lock:
            mask = self._masks.get(key)
            if mask is None:
                mask = (np.ones(len(self.corpus), dtype=bool) if path is None or pos is None
                        else self.corpus.accessible_mask(path, pos))
                if len(self._masks) > 64:
                    self._masks.clear()
                self._masks[key] = mask
            return mask


_SHARED: dict[tuple[str, str], PremiseStatements] = {}
_SHARED_LOCK = threading.Lock()


def shared_statements(trace_dir: str | Path, encoder) -> PremiseStatements:
    """`PremiseStatements.of_trace`, built once per process for a trace and encoder (eval workers share it)."""
    key = (str(Path(trace_dir).resolve()), encoder.fingerprint())
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = PremiseStatements.of_trace(trace_dir, encoder)
        return _SHARED[key]
