"""The Lean soundness guard: what a statement, a proof and its axioms may be.

Model output is hostile input. A proof is spliced after the statement, so
anything that ends the proof term and starts a new command (a second
theorem, an `axiom`, `#exit`, a macro, an attribute) or that tells Lean to
trust something other than the kernel (`implemented_by`, `extern`, `unsafe`,
`native_decide`, `debug.*` options such as `debug.skipKernelTC`) is rejected
before Lean sees it, by scanning the proof's code with comments and string
literals blanked out, the way Lean's own scanner reads it. Whatever slips past
still has to survive Lean: errors and `sorry` warnings fail the proof, and
`#print axioms` must list only allowed axioms. Every rejection says why.

A proof may be a tactic block (`intro x; simp`), a `by` block, a term after
`:=`, or a restatement of the whole theorem (optionally after the header),
which must then be the asked statement, name and signature unchanged.
"""

from __future__ import annotations

import fnmatch
import re
import textwrap
from dataclasses import dataclass

from proofsmith.checker.lean.print_axioms import parse_axioms_answer, plain_name
from proofsmith.checker.lean.protocol import CommandResponse, Message
from proofsmith.checker.types import Verdict


class GuardRejection(ValueError):
    """A statement or proof that must not reach Lean; the message is the reason."""


THEOREM_KEYWORDS = ("theorem", "lemma", "example", "def")
MODIFIERS = ("private", "protected", "noncomputable", "nonrec")

# Keywords that give a goal up: the result would not be a proof.
GIVE_UP = {"sorry": "gives up a goal", "admit": "gives up a goal", "stop": "abandons the rest of the proof (stop = repeat sorry)",
           "sorryAx": "is the sorry axiom"}

# Keywords that start a new command; inside a proof they would end the proof
# term and declare or change something at the top level.
COMMANDS = frozenset(
    """
    theorem lemma def example abbrev instance axiom opaque structure class inductive coinductive
    mutual namespace section end universe variable import export attribute macro macro_rules syntax
    elab elab_rules notation infix infixl infixr prefix postfix declare_syntax_cat initialize
    builtin_initialize deriving noncomputable private protected partial omit include add_decl_doc
    register_simp_attr
    """.split()
)

# Metaprograms run inside a proof can add declarations or replace the environment.
METAPROGRAMS = frozenset({"run_cmd", "run_elab", "run_meta", "run_tac", "by_elab"})

# Ways to make Lean trust compiled code or switch a check off.
TRUSTED_CODE = {
    "implemented_by": "replaces a definition by compiled code the kernel never sees",
    "extern": "replaces a definition by external code the kernel never sees",
    "unsafe": "escapes the kernel's checks",
}
NATIVE = frozenset({"native_decide", "native", "ofReduceBool", "ofReduceNat", "trustCompiler"})
NATIVE_AXIOMS = ("Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler")


# ---------------------------------------------------------------- scanning


def _blank(text: str, start: int, end: int, out: list[str]) -> None:
    for i in range(start, end):
        if text[i] != "\n":
            out[i] = " "


_RAW_STRING = re.compile(r'r#*"')
_CHAR_LITERAL = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'")


def scrub(text: str, strings: bool = True) -> str:
    """`text` with comments (and, if `strings`, string and char literals) replaced by
    spaces, positions kept. Raises GuardRejection on an unterminated comment or string."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            _blank(text, i, end, out)
            i = end
        elif text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise GuardRejection("unterminated comment /- ... -/")
            _blank(text, i, j, out)
            i = j
        elif c == '"' or (c == "r" and _RAW_STRING.match(text, i) and not _ident_char(text, i - 1)):
            hashes = 0
            j = i
            if c == "r":
                j += 1
                while text[j] == "#":
                    hashes, j = hashes + 1, j + 1
                closing = '"' + "#" * hashes
                end = text.find(closing, j + 1)
                if end == -1:
                    raise GuardRejection("unterminated raw string literal")
                end += len(closing)
            else:
                j += 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                if j >= n:
                    raise GuardRejection("unterminated string literal")
                end = j + 1
            if strings:
                _blank(text, i + 1, end - 1, out)
            i = end
        elif c == "'" and not _ident_char(text, i - 1):
            m = _CHAR_LITERAL.match(text, i)
            if m and strings:
                _blank(text, i + 1, m.end() - 1, out)
            i = m.end() if m else i + 1
        else:
            i += 1
    return "".join(out)


def _ident_char(text: str, i: int) -> bool:
    if i < 0:
        return False
    c = text[i]
    return c.isalnum() or c in "_'!?."


_NAME_PART = r"(?:«[^»]*»|[^\W\d][\w'!?]*)"
_TOKEN = re.compile(
    r"#[A-Za-z_]\w*"
    r"|@\["
    rf"|(?<![\w'!?.»]){_NAME_PART}(?:\.{_NAME_PART})*"
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int


def code_tokens(text: str) -> list[Token]:
    """Identifiers, keywords, `#commands` and `@[` of the code, comments and strings excluded."""
    code = scrub(text)
    return [Token(m.group(0), m.start()) for m in _TOKEN.finditer(code)]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class ParsedStatement:
    keyword: str
    name: str | None  # None for `example`; «escapes» removed, as the guard writes names everywhere else
    text: str  # the declaration without `:= ...`
    written_name: str | None = None  # the name as written, «escapes» kept: what Lean reads

    @property
    def print_axioms(self) -> str:
        """The command that asks Lean which axioms the theorem depends on."""
        return f"#print axioms {self.written_name}"


_TRAILING_ASSIGN = re.compile(r"\s*:=\s*(?:by\s*)?$")


def parse_statement(statement: str) -> ParsedStatement:
    """Check that `statement` is one declaration signature (`theorem NAME binders : type`),
    allowing a trailing `:= by` that some benchmark files keep."""
    try:
        code = scrub(statement)
    except GuardRejection as exc:
        raise GuardRejection(f"statement: {exc}") from None
    m = _TRAILING_ASSIGN.search(code)
    if m:
        statement, code = statement[: m.start()], code[: m.start()]
    statement = statement.strip()
    code = code.strip()
    tokens = [t.text for t in code_tokens(_skip_attributes(code))]
    while tokens and tokens[0] in MODIFIERS:
        tokens.pop(0)
    if not tokens or tokens[0] not in THEOREM_KEYWORDS:
        raise GuardRejection(f"statement must start with one of {', '.join(THEOREM_KEYWORDS)}")
    keyword, rest = tokens[0], tokens[1:]
    written = None
    if keyword != "example":
        if not rest:
            raise GuardRejection(f"statement has no name after {keyword!r}")
        written = rest[0]
    if _top_level(code, ":=") is not None:
        raise GuardRejection("statement must stop before ':=' (the proof is given separately)")
    for token in rest:
        if token in COMMANDS or token.startswith("#"):
            raise GuardRejection(f"statement holds a second command {token!r}")
    return ParsedStatement(keyword, plain_name(written) if written else None, statement, written)


def _skip_attributes(code: str) -> str:
    return re.sub(r"@\[[^\]]*\]", " ", code)


_BRACKETS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄"}


def _top_level(code: str, needle: str) -> int | None:
    """Index of the first `needle` outside brackets in scrubbed `code`, else None."""
    depth = 0
    for i, c in enumerate(code):
        if c in _BRACKETS:
            depth += 1
        elif c in _BRACKETS.values():
            depth = max(depth - 1, 0)
        elif depth == 0 and code.startswith(needle, i):
            return i
    return None


# ---------------------------------------------------------------- proofs


def check_code(text: str, allow_native: bool, what: str = "proof") -> None:
    """Reject `text` (a proof or a tactic) if it holds anything in the lists above."""
    try:
        tokens = code_tokens(text)
    except GuardRejection as exc:
        raise GuardRejection(f"{what}: {exc}") from None
    for token in tokens:
        word = token.text.replace("«", "").replace("»", "")
        parts = word.split(".")
        if word in GIVE_UP or parts[-1] == "sorryAx":
            raise GuardRejection(f"{word!r} {GIVE_UP.get(word, GIVE_UP['sorryAx'])}")
        if word.startswith("#"):
            raise GuardRejection(f"command {word!r} is not allowed in a {what}")
        if word == "@[":
            raise GuardRejection(f"attributes (@[...]) are not allowed in a {what}")
        if word in TRUSTED_CODE:
            raise GuardRejection(f"{word!r} is not allowed: it {TRUSTED_CODE[word]}")
        if word.startswith("debug."):
            raise GuardRejection(f"option {word} is not allowed: debug options can switch kernel checks off")
        if word in METAPROGRAMS:
            raise GuardRejection(f"{word!r} runs a metaprogram that can change the environment; not allowed in a {what}")
        if word in COMMANDS:
            raise GuardRejection(f"{word!r} starts a new command; it is not allowed in a {what}")
        if not allow_native and (word in NATIVE or parts[-1] in NATIVE):
            raise GuardRejection(
                f"{word!r} evaluates with compiled code instead of the kernel; "
                "allow it with PROOFSMITH_LEAN_ALLOW_NATIVE_DECIDE=1"
            )


def mentions(code: str, name: str) -> bool:
    """Whether `code` refers to `name` (or, for a dotted name, its last part), also as `name.field`."""
    names = {name, name.rsplit(".", 1)[-1]}
    for token in code_tokens(code):
        word = token.text.replace("«", "").replace("»", "")
        if any(word == n or word.startswith(n + ".") for n in names):
            return True
    return False


def _normalise(text: str) -> str:
    return " ".join(scrub(text, strings=False).split())


def proof_command(statement: ParsedStatement, header: str, proof: str, allow_native: bool) -> str:
    """The command that declares the theorem with this proof, after the guard's checks."""
    body = _trim(proof)
    if not body:
        raise GuardRejection("empty proof")
    if _squeezed(header) and _squeezed(body).startswith(_squeezed(header)):
        body = _strip_prefix(body, header)
    first = code_tokens(body)[:1]
    if first and (first[0].text in THEOREM_KEYWORDS or first[0].text in MODIFIERS or first[0].text == "@["):
        body = _strip_restatement(statement, body)
    check_code(body, allow_native)
    code = scrub(body)
    start = len(code) - len(code.lstrip())
    if code.startswith(":=", start):
        body = body[start + 2 :].strip()
        if not body:
            raise GuardRejection("empty proof after ':='")
        return f"{statement.text} := {body}"
    if re.match(r"by\b", code[start:]):
        return f"{statement.text} := {body[start:]}"
    return f"{statement.text} := by\n{textwrap.indent(textwrap.dedent(body), '  ')}"


def _trim(text: str) -> str:
    """Without trailing whitespace and leading blank lines; the first line keeps its indentation."""
    return re.sub(r"\A(?:[ \t]*\n)+", "", text.rstrip())


def _squeezed(text: str) -> str:
    return "".join(scrub(text, strings=False).split())


def _strip_prefix(body: str, prefix: str) -> str:
    """Drop from `body` its leading copy of `prefix` (equal up to whitespace and comments)."""
    wanted = len(_squeezed(prefix))
    code = scrub(body, strings=False)
    count = 0
    for i, c in enumerate(code):
        if not c.isspace():
            count += 1
            if count == wanted:
                return _trim(body[i + 1 :])
    return body


def _strip_restatement(statement: ParsedStatement, body: str) -> str:
    code = scrub(body)
    at = _top_level(code, ":=")
    if at is None:
        raise GuardRejection("the proof restates the theorem without ':='")
    signature = body[:at]
    try:
        restated = parse_statement(signature)
    except GuardRejection as exc:
        raise GuardRejection(f"the proof restates the theorem badly: {exc}") from None
    if restated.name != statement.name:
        raise GuardRejection(f"renamed theorem: the proof declares {restated.name!r}, expected {statement.name!r}")
    if _normalise(restated.text) != _normalise(statement.text):
        raise GuardRejection("restated theorem differs from the statement asked for")
    return body[at:].strip()


# ---------------------------------------------------------------- axioms


def printed_axioms(messages: list[Message], name: str) -> list[str] | None:
    """The axioms `#print axioms NAME` reported among `messages`, or None if it said nothing about NAME.

    An ambiguous NAME gets one answer per constant it names; their union is
    taken, which never reports fewer axioms than the theorem's own."""
    answers = [
        answer
        for message in messages
        if message.severity == "info"
        and (answer := parse_axioms_answer(message.data)) is not None
        and answer.is_about(name)
    ]
    if not answers:
        return None
    return list(dict.fromkeys(axiom for answer in answers for axiom in answer.axioms))


def declared_axioms(header: str) -> frozenset[str]:
    """Names the header declares with `axiom`: they belong to the problem."""
    try:
        tokens = code_tokens(header)
    except GuardRejection:
        return frozenset()
    return frozenset(
        plain_name(tokens[i + 1].text) for i, t in enumerate(tokens[:-1]) if t.text == "axiom"
    )


def disallowed_axioms(axioms: list[str], allowed: list[str], header_axioms: frozenset[str], allow_native: bool) -> list[str]:
    patterns = list(allowed) + (list(NATIVE_AXIOMS) if allow_native else [])
    bad = []
    for axiom in axioms:
        if any(axiom == h or axiom.endswith("." + h) for h in header_axioms):
            continue
        if any(fnmatch.fnmatchcase(axiom, p) for p in patterns):
            continue
        bad.append(axiom)
    return bad


# ---------------------------------------------------------------- verdicts


def first_error(response: CommandResponse) -> str:
    errors = response.errors()
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return errors[0].located() + more


def proof_failure(response: CommandResponse) -> str | None:
    """Why Lean's answer to the proof command fails it, or None."""
    if response.errors():
        return first_error(response)
    if response.uses_sorry():
        return "rejected: the proof uses sorry"
    return None


def axiom_verdict(
    messages: list[Message], name: str, allowed: list[str], header_axioms: frozenset[str], allow_native: bool
) -> tuple[Verdict, str, tuple[str, ...]]:
    """Judge the `#print axioms NAME` answer found among `messages`."""
    axioms = printed_axioms(messages, name)
    if axioms is None:
        return Verdict.FAILED, f"#print axioms said nothing about {name}", ()
    bad = disallowed_axioms(axioms, allowed, header_axioms, allow_native)
    if bad:
        reason = "depends on disallowed axioms: " + ", ".join(bad)
        if "sorryAx" in bad:
            reason += " (sorryAx: the proof uses sorry)"
        return Verdict.FAILED, reason, tuple(axioms)
    return Verdict.PROVED, "", tuple(axioms)
