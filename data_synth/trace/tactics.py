"""The text of a traced tactic and the names in it that may be library premises.

A tactic's premises are the global constants it names as arguments
(`rewrite Nat.add_comm`, `apply (le_trans _ _ _ H)`), resolved by Coq
(`Locate`) in the state the tactic ran in. Which words to ask about is decided
here, lexically: identifiers in argument position, not tactic names (`f_equal`
and `absurd` are both tactics and constants), not evars or scope keys, not
term keywords. Bound and local names are filtered by the tracer, which knows
the goal's hypotheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proofsmith.checker.coq.sentences import strip_comments

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"]|"")*")
  | (?P<ident>[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*(?:\.[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*)*)
  | (?P<number>\d+)
  | (?P<punct>\|\||=>|[;|\[\]()])
  | (?P<other>\S)
    """,
    re.X,
)

# Tacticals after which a tactic (not a term) follows.
TACTICALS = frozenset(
    "try repeat progress now do abstract first solve once exactly_once time timeout infoH by tryif".split()
)
# Words after which a tactic follows, although they are not tactics themselves.
TACTIC_FOLLOWS = frozenset({";", "||", "|", "[", "=>", "by", "then", "else"})
TERM_KEYWORDS = frozenset(
    "fun forall exists exists2 match with end as in let return if then else fix cofix struct Prop Set Type SProp "
    "at using eqn into by".split()
)
_SELECTOR = re.compile(r"^\s*(?:all|par|!|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*|\[\s*[\w']+\s*\])\s*:(?!=)")


@dataclass(frozen=True)
class NameUse:
    name: str
    start: int  # offsets into the normalized tactic text
    end: int


def normalize(sentence: str) -> str:
    """A tactic sentence without comments, its whitespace collapsed outside strings."""
    pieces = re.split(r'("(?:[^"]|"")*")', strip_comments(sentence).strip())
    # odd pieces are string literals, kept verbatim
    return "".join(p if i % 2 else re.sub(r"\s+", " ", p) for i, p in enumerate(pieces)).strip()


def argument_names(tactic: str) -> list[NameUse]:
    """Identifiers of `tactic` (normalized text) that stand where a term goes."""
    uses: list[NameUse] = []
    selector = _SELECTOR.match(tactic)
    expect_tactic = True
    previous = ""
    for m in _TOKEN.finditer(tactic, selector.end() if selector else 0):
        kind, text = m.lastgroup, m.group()
        if kind == "ident":
            if expect_tactic:
                expect_tactic = text in TACTICALS
            elif text in TACTIC_FOLLOWS:
                expect_tactic = True
            elif text not in TERM_KEYWORDS and previous != "%" and text != "_":
                uses.append(NameUse(text, m.start(), m.end()))
        elif kind == "number":
            pass  # `do 3 tac` keeps expecting a tactic
        elif kind == "punct":
            if text == "(":
                pass  # a parenthesis opens a tactic where a tactic was expected, a term elsewhere
            else:
                expect_tactic = text in TACTIC_FOLLOWS
        else:
            expect_tactic = False
        previous = text
    return uses


def annotate(tactic: str, uses: list[NameUse]) -> str:
    """The tactic with each premise use marked `<a>name</a>`, as LeanDojo marks them."""
    out, cursor = [], 0
    for use in sorted(uses, key=lambda u: u.start):
        out.append(tactic[cursor : use.start])
        out.append(f"<a>{tactic[use.start : use.end]}</a>")
        cursor = use.end
    out.append(tactic[cursor:])
    return "".join(out)
