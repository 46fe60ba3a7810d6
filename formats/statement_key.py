"""Coq statements up to bound names and spacing: tokens, binders, telescopes, and the statement key.

Two statements whose `statement_key`s are equal differ only in the names of
their bound variables and hypotheses and in whitespace (alpha-equivalence as
far as text can tell): `forall (n : nat), n + 0 = n` and `forall m : nat,
m + 0 = m` share a key, and so do `forall (H : A), B` with H unused and
`A -> B`. Mutation de-duplicates its mutants by this key (data_synth), and a
tactic memory that adds mutants leaves out those that restate a held-out
theorem by it (prover.memory_mutants). It reads terms the way Coq prints them
and never has to be exact: a wrong guess costs a missed duplicate, never a
wrong proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"]|"")*")
      | (?P<scope>%[A-Za-z_][\w']*)
      | (?P<ident>[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*)
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<bracket>[()\[\]{}])
      | (?P<comma>,)
      | (?P<symbol>[^\sA-Za-z_\d()\[\]{},"]+)
    )""",
    re.X,
)

BINDING_KEYWORDS = frozenset({"forall", "exists", "exists2", "fun", "let", "fix", "cofix"})
TERM_KEYWORDS = BINDING_KEYWORDS | frozenset(
    {"match", "with", "end", "in", "if", "then", "else", "as", "return", "Prop", "Set", "Type", "SProp", "_"}
)
OPEN_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def tokenize(text: str) -> list[str]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        tokens.append(m.group(m.lastgroup or 0))  # every alternative of _TOKEN is a named group
        pos = m.end()
    return tokens


def is_identifier(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] == "_") and token not in TERM_KEYWORDS


def group_end(tokens: list[str], i: int) -> int:
    """Index just past the bracket group opened at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j] in OPEN_BRACKETS:
            depth += 1
        elif tokens[j] in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j + 1
    return len(tokens)


def top_level(tokens: list[str]) -> list[tuple[int, str]]:
    """(index, token) of tokens at bracket depth 0, stopping at a binder keyword
    (whose scope runs to the end of the term)."""
    out = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in OPEN_BRACKETS:
            i = group_end(tokens, i)
            continue
        if t in BINDING_KEYWORDS:
            break
        out.append((i, t))
        i += 1
    return out


def strip_parens(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] == "(" and group_end(tokens, 0) == len(tokens):
        tokens = tokens[1:-1]
    return tokens


@dataclass(frozen=True)
class Binder:
    name: str | None  # None for an anonymous hypothesis (`A -> B`)
    type: tuple[str, ...]


def parse_binders(tokens: list[str], stop: frozenset[str]) -> tuple[list[Binder], int]:
    """Binders `x y : T`, `(x : T) {y : U}`, `x` up to a `stop` token at depth 0.
    Returns the binders and the index of the stop token."""
    binders: list[Binder] = []
    i = 0
    names: list[str] = []
    while i < len(tokens):
        t = tokens[i]
        if t in stop:
            binders.extend(Binder(n, ("_",)) for n in names)
            return binders, i
        if t in OPEN_BRACKETS:
            end = group_end(tokens, i)
            group = tokens[i + 1 : end - 1]
            if ":" in group:
                k = group.index(":")
                typ = tuple(t for t in group[k + 1 :] if t != ":=") or ("_",)
                binders.extend(Binder(n.lstrip("'"), typ) for n in group[:k] if is_identifier(n.lstrip("'")))
            else:
                binders.extend(Binder(n, ("_",)) for n in group if is_identifier(n))
            i = end
            continue
        if t == ":":
            j = i + 1
            depth_end = j
            while depth_end < len(tokens) and tokens[depth_end] not in stop:
                depth_end = group_end(tokens, depth_end) if tokens[depth_end] in OPEN_BRACKETS else depth_end + 1
            binders.extend(Binder(n, tuple(tokens[j:depth_end])) for n in names)
            return binders, depth_end
        if is_identifier(t):
            names.append(t)
        i += 1
    binders.extend(Binder(n, ("_",)) for n in names)
    return binders, len(tokens)


def telescope(tokens: list[str]) -> tuple[list[Binder], list[str]]:
    """Leading `forall` binders and `->` hypotheses, and the conclusion."""
    binders: list[Binder] = []
    tokens = strip_parens(list(tokens))
    while tokens:
        if tokens[0] == "forall":
            found, k = parse_binders(tokens[1:], frozenset({","}))
            binders.extend(found)
            tokens = strip_parens(tokens[k + 2 :])
            continue
        arrow = next((i for i, t in top_level(tokens) if t == "->"), None)
        if arrow is None:
            break
        binders.append(Binder(None, tuple(strip_parens(tokens[:arrow]))))
        tokens = strip_parens(tokens[arrow + 1 :])
    return binders, tokens


def alpha_key(tokens: list[str]) -> str:
    """A text equal for statements that differ only in bound names and spacing.

    Every binder (leading `forall`s, named hypotheses, inner `forall`/`fun`/
    `exists`) gets a positional placeholder; `forall (H : A), B` with H unused
    and `A -> B` give the same key.
    """
    binders, conclusion = telescope(tokens)
    rename: dict[str, str] = {}
    out: list[str] = []
    for i, b in enumerate(binders):
        out.append("∀" + " ".join(_renamed(list(b.type), rename)) + ".")
        if b.name:
            rename[b.name] = f"#{i}"
    out.append("⊢")
    out.extend(_renamed(conclusion, rename))
    return " ".join(out)


def statement_key(statement_type: str) -> str:
    """The key of a statement's type as text (`forall n : nat, n + 0 = n`): `alpha_key` of its tokens."""
    return alpha_key(tokenize(statement_type))


def _renamed(tokens: list[str], outer: dict[str, str]) -> list[str]:
    rename = dict(outer)
    out = []
    counter = len(outer)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in BINDING_KEYWORDS:
            found, _ = parse_binders(tokens[i + 1 :], frozenset({",", "=>", ":="}))
            for b in found:
                if b.name:
                    rename[b.name] = f"#b{counter}"
                    counter += 1
        out.append(rename.get(t, t))
        i += 1
    return out
