"""The F* candidate guard: what a candidate definition may be, decided before F* sees it.

Model output is hostile input. A candidate is pushed after the statement, so
it must be exactly one definition: `let` (or `let rec`) of the target name,
optionally with qualifiers and attributes, optionally after a restatement of
the `val` asked for (or a copy of the problem's header). It is rejected, with
the reason, if it

- declares anything else: a second top-level `let`, a mutually recursive
  `and`, `val`, `type`, `assume`, `effect`s, classes, instances, exceptions,
  `%splice` (a tactic that generates declarations);
- changes options: any `#` pragma (`#set-options`, `#push-options`, ...),
  the `set_options` tactic, or a string holding a command-line flag
  (`"--admit_smt_queries true"`, `"--lax"`);
- uses an escape hatch: `admit` in every spelling (`admitP`, `tadmit`,
  `admit_smt_queries`, ...), `assume`, `magic`, `unsafe_coerce`, the `Drop`
  guard policy of tactics, or the attributes that make F* accept a failing
  declaration or skip a check (`expect_failure`, `expect_lax_failure`,
  `admit_termination`);
- opens or names modules at the top level (`module`, `open`, `include`,
  `friend`; a local `let open M in` is fine).

Whatever slips past still has to survive F*: the push must succeed without
an error and without warning 335, which `--report_assumes warn` raises for
every admitted or assumed fact (checker.fstar.verdict). And F* checks the
`let` against the `val`, so a candidate cannot change what is proved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proofsmith.checker.fstar.syntax import (
    QUALIFIERS,
    LexError,
    Token,
    operator_name,
    parse_val,
    same_code,
    scan,
    squeezed,
    tokens,
)
from proofsmith.checker.fstar.target import FStarTarget


class GuardRejection(ValueError):
    """A candidate that must not reach F*; the message is the reason."""


# Declarations other than the definition, and module-level commands.
DECLARATIONS = {
    "val": "declares a second name (val)",
    "type": "declares a type",
    "assume": "assumes a fact without proof",
    "effect": "declares an effect",
    "new_effect": "declares an effect",
    "sub_effect": "declares an effect",
    "layered_effect": "declares an effect",
    "new_effect_for_free": "declares an effect",
    "polymonadic_bind": "declares an effect combinator",
    "polymonadic_subcomp": "declares an effect combinator",
    "class": "declares a type class",
    "instance": "declares a type-class instance",
    "exception": "declares an exception",
    "interface": "starts an interface",
    "module": "opens a new module or a module abbreviation",
    "open": "opens a module at the top level",
    "include": "includes a module",
    "friend": "makes a module a friend (it sees another module's hidden definitions)",
    "splice": "runs a tactic that generates declarations (%splice)",
    "splice_t": "runs a tactic that generates declarations (%splice_t)",
}

# Names that give up a proof obligation or change what F* checks.
ESCAPE_HATCHES = {
    "magic": "produces a value of any type without proof",
    "unsafe_coerce": "changes a value's type without proof",
    "expect_failure": "makes F* accept a declaration that fails (and then leave it out)",
    "expect_lax_failure": "makes F* accept a declaration that fails (and then leave it out)",
    "admit_termination": "skips the termination check",
    "set_options": "changes F*'s options from a tactic",
    "Drop": "is the guard policy that discards proof obligations (set_guard_policy Drop)",
}

# `#` pragmas without a hyphen (`#set-options` and the like have one); `#a` is an implicit argument.
PRAGMAS = frozenset({"light", "check", "normalize"})

_OPTION_FLAG = re.compile(r"(?:^|\s)--[A-Za-z_]")
_LET = re.compile(r"^let(?:[!?$&*+\-./:<=>@^|~%]+)?$")


@dataclass(frozen=True)
class Candidate:
    """A candidate that passed the guard: `code` is what goes after the statement."""

    code: str
    restated: bool  # the candidate repeated the statement's `val` (removed from `code`)


def _reject_names(toks: list[Token]) -> None:
    for k, tok in enumerate(toks):
        word = tok.text
        last = word.rsplit(".", 1)[-1]
        if word.startswith("#") and ("-" in word or word[1:] in PRAGMAS):
            raise GuardRejection(f"pragma {word} is not allowed: a candidate may not change options or the solver")
        if "admit" in last.lower():
            raise GuardRejection(f"{word!r} admits a proof obligation")
        if last == "assume" or last.startswith("assume_"):
            raise GuardRejection(f"{word!r} assumes a fact without proof")
        if last in ESCAPE_HATCHES:
            raise GuardRejection(f"{word!r} is not allowed: it {ESCAPE_HATCHES[last]}")
        if word in DECLARATIONS and word != "val":
            if word == "open" and k > 0 and toks[k - 1].text == "let":
                continue  # `let open M in e` is an expression
            raise GuardRejection(f"{word!r} is not allowed in a candidate: it {DECLARATIONS[word]}")


def _skip_prefix(toks: list[Token], k: int) -> int:
    """Index of the first token after qualifiers and attribute groups starting at `k`."""
    while k < len(toks):
        tok = toks[k]
        if tok.text in QUALIFIERS:
            k += 1
        elif tok.text.startswith("[@"):
            depth = tok.depth
            k += 1
            while k < len(toks) and not (toks[k].text == "]" and toks[k].depth == depth):
                k += 1
            k += 1
        else:
            break
    return k


def _defined_name(toks: list[Token], k: int) -> tuple[str, int]:
    """The name a `let [rec]` at `k` binds, and the index after it."""
    k += 1
    if k < len(toks) and toks[k].text == "rec":
        k += 1
    if k >= len(toks):
        raise GuardRejection("the candidate's `let` defines nothing")
    tok = toks[k]
    if tok.text == "(" and k + 2 < len(toks) and toks[k + 2].text == ")":
        op = operator_name(toks[k + 1].text)
        if op is None:
            raise GuardRejection(f"the candidate's `let` binds a pattern, not a name: {toks[k + 1].text!r}")
        return op, k + 3
    if not re.fullmatch(r"[A-Za-z_][\w']*", tok.text):
        raise GuardRejection(f"the candidate's `let` binds a pattern, not a name ({tok.text!r})")
    return tok.text, k + 1


def _strip_header(candidate: str, header: str) -> str:
    """The candidate without a leading copy of the header (equal up to whitespace and comments)."""
    wanted = squeezed(header)
    if not wanted or not squeezed(candidate).startswith(wanted):
        return candidate
    try:
        code = scan(candidate, literals=False).code
    except LexError:
        return candidate
    count = 0
    for i, c in enumerate(code):
        if not c.isspace():
            count += 1
            if count == len(wanted):
                return candidate[i + 1 :]
    return candidate


def check_candidate(target: FStarTarget, candidate: str) -> Candidate:
    """The code to push for `candidate`, or GuardRejection saying why it must not be pushed."""
    text = _strip_header(candidate, target.header)
    if target.checked is False and target.scratch_prefix != target.header:
        text = _strip_header(text, target.scratch_prefix)
    if not text.strip():
        raise GuardRejection("empty candidate")
    try:
        scanned = scan(text)
    except LexError as exc:
        raise GuardRejection(str(exc)) from None
    for literal in scanned.strings:
        if _OPTION_FLAG.search(literal):
            option = literal.strip()[:60]
            raise GuardRejection(f"a string holds a command-line option ({option!r}); options come from the problem")
    toks = tokens(scanned.code)
    _reject_names(toks)
    short = target.short_name

    k = _skip_prefix(toks, 0)
    restated = False
    code_start = 0
    if k < len(toks) and toks[k].text == "val":
        end = next((j for j in range(k + 1, len(toks)) if toks[j].depth == 0 and _starts_definition(toks[j])), None)
        if end is None:
            raise GuardRejection(f"the candidate declares {short} but gives no definition")
        val_text = text[toks[0].start : toks[end].start]
        declared = parse_val(val_text)
        if declared is None or declared.name != short:
            raise GuardRejection(f"the candidate declares {declared.name if declared else 'something'!r} with val; "
                                 f"only {short} may be defined")
        if target.statement:
            if not same_code(val_text, target.statement):
                raise GuardRejection("the candidate restates the val differently from the statement asked for")
            restated = True
            code_start = toks[end].start
        k = _skip_prefix(toks, end)
    for tok in toks[k:]:
        if tok.text == "val":
            raise GuardRejection(f"'val' is not allowed here: it {DECLARATIONS['val']}")
    if k >= len(toks) or toks[k].text != "let":
        found = toks[k].text if k < len(toks) else "nothing"
        raise GuardRejection(f"a candidate is one definition `let {short} ...`; it starts with {found!r}")
    name, after = _defined_name(toks, k)
    if name != short:
        raise GuardRejection(f"the candidate defines {name!r}, not {short!r}")
    if after < len(toks) and toks[after].text == ",":
        raise GuardRejection("the candidate's `let` binds a tuple: it defines more than one name")
    _check_single_definition(toks, k, short)
    return Candidate(text[code_start:] if restated else text, restated)


def _starts_definition(tok: Token) -> bool:
    return tok.text == "let" or tok.text in QUALIFIERS or tok.text.startswith("[@")


def _check_single_definition(toks: list[Token], main: int, short: str) -> None:
    """After the main `let`, every `let` is local (closed by its `in`), the main one
    is never closed (that would make it local too), and no `and` adds a binding."""
    pending: dict[int, int] = {0: 1}  # open `let`s per nesting depth
    last_intro = -1
    depth = 0
    for k in range(main + 1, len(toks)):
        tok = toks[k]
        if tok.depth < depth:  # left a bracket: `let`s opened inside it are gone
            for d in [d for d in pending if d > tok.depth]:
                del pending[d]
        depth = tok.depth
        if tok.text in ("introduce", "eliminate"):
            last_intro = k
        elif _LET.match(tok.text):
            pending[tok.depth] = pending.get(tok.depth, 0) + 1
        elif tok.text == "in" and pending.get(tok.depth, 0) > 0:
            if tok.depth == 0 and pending[0] == 1:
                raise GuardRejection(f"`let {short} ... in` is a local binding: it defines nothing at the top level")
            pending[tok.depth] -= 1
        elif tok.text == "and" and tok.depth == 0 and pending.get(0, 0) == 1 and last_intro < main:
            # `introduce ... with x and y` is the only other `and` of F*'s syntax
            raise GuardRejection(f"`and` defines a second name next to {short} (mutual recursion); only {short} may be defined")
    if pending.get(0, 0) > 1:
        raise GuardRejection(f"the candidate has a second top-level `let` (a `let` without `in`): only {short} may be defined")
