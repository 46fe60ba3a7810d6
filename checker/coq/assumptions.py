"""What a finished Coq constant depends on: never less than Coq's own `Print Assumptions`.

The checker asks the kernel-query plugin (checker/coq/kernel_query) first: its
JSON facts become `Assumption`s here (`from_kernel`), each with the kernel's
declaration kind, origin and file. What follows is the path without the
plugin (it could not be built or loaded, or `coq_assumptions="coq"`): Coq's
printed answer, read strictly, and the per-global reading it used to speed up.

`Print Assumptions NAME` re-traverses every library proof behind the term
(0.3-0.8 s for a single `lia` or `ring`). The fast path asks it per global
instead and caches the answers: the assumptions of NAME are those of every
global its body and type mention, plus its own unsafe flags. The fast path is
only used where it is provably the same as Coq's answer, and falls back to
Coq's `Print Assumptions NAME` everywhere else:

- the globals are read from `Print NAME` under `Set Printing All` (no
  notations, every global named, shadowed ones qualified); coqidetop's
  printer elides subterms nested more than 50 boxes deep whatever `Printing
  Depth` says (its richpp formatter fixes the limit), so if it elided one
  (`...`), fall back;
- every maximal run of characters that cannot separate names is a candidate
  (non-ASCII names included) and Coq itself says what it refers to (`About`);
  a candidate that is not a global (a bound variable, a number) costs one
  cached query and adds nothing;
- a candidate that is new since the header (the theorem, its `abstract`
  sub-proofs) is read the same way, recursively, and never cached: a later
  proof may create a different constant under the same name;
- the theorem's own flags: if guard, positivity or universe checking (or any
  other typing flag) differ from the session's defaults, fall back, because
  `Print Assumptions` then reports the theorem itself as "assumed to be
  guarded" and the per-global answers cannot;
- inductive types and constructors are asked too (a `bypass_check(positivity)`
  inductive is "assumed to be positive"), and section variables are reported.

`bench/axiom_differential.py` runs both paths side by side on thousands of
proofs and counts disagreements.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from proofsmith.checker.coq.kernel_query.answer import FactKind, KernelAnswer, KernelFact

# Sentences that make `Print NAME` name every global.
PRINTING_SENTENCES = ("Set Printing All.",)

GLOBAL_KINDS = frozenset({"Constant", "Inductive", "Constructor"})
HEADER_CACHES = 16


class AssumptionKind(str, Enum):
    AXIOM = "axiom"  # an Axiom/Parameter, or an Admitted lemma
    SECTION_VARIABLE = "section variable"
    UNSAFE = "unsafe"  # assumed guarded / positive, an unsafe universe hierarchy, ...


@dataclass(frozen=True, order=True)
class Assumption:
    kind: AssumptionKind
    name: str  # axioms: fully qualified; section variables: their name; unsafe: Coq's sentence
    # False when `About` could not read back the name Print Assumptions printed (a name the
    # file's notations made a keyword, `rem`): kept as printed, so never allowed by a pattern
    resolved: bool = field(default=True, compare=False)
    # what the kernel-query plugin said of it (declaration kind, origin, file); None when the
    # answer came from Coq's printed Print Assumptions
    fact: KernelFact | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name


_UNSAFE_SENTENCE = {
    FactKind.GUARD: "is assumed to be guarded.",
    FactKind.POSITIVITY: "is assumed to be positive.",
    FactKind.TYPE_IN_TYPE: "relies on an unsafe hierarchy.",
    FactKind.UIP: "relies on definitional UIP.",
}
TYPE_IN_TYPE = "Type hierarchy is collapsed (logic is inconsistent)"


def from_kernel(answer: KernelAnswer) -> frozenset[Assumption]:
    """The plugin's facts as assumptions, named the way Print Assumptions names them (fully qualified)."""
    found: set[Assumption] = set()
    for fact in answer.facts:
        if fact.kind is FactKind.SECTION_VARIABLE:
            found.add(Assumption(AssumptionKind.SECTION_VARIABLE, fact.variable, fact=fact))
        elif fact.kind is FactKind.CONSTANT and fact.subject is not None:
            found.add(Assumption(AssumptionKind.AXIOM, fact.subject.display, fact=fact))
        elif fact.subject is not None:
            found.add(Assumption(AssumptionKind.UNSAFE, f"{fact.subject.display} {_UNSAFE_SENTENCE[fact.kind]}",
                                 fact=fact))
        else:
            raise AssumptionsUnreadable(f"a {fact.kind.value} fact without its subject")
    if answer.impredicative_set:
        found.add(Assumption(AssumptionKind.UNSAFE, IMPREDICATIVE_SET))
    if answer.type_in_type:
        found.add(Assumption(AssumptionKind.UNSAFE, TYPE_IN_TYPE))
    return frozenset(found)


class AssumptionsUnreadable(ValueError):
    """Coq answered in a shape this module does not know; nothing can be concluded."""


class Fallback(Exception):
    """The fast path cannot decide; Coq's own `Print Assumptions` must."""


# ---------------------------------------------------------------- Print Assumptions


@dataclass(frozen=True)
class PrintedAssumption:
    """One entry of a `Print Assumptions` answer, with the name as Coq printed it."""

    kind: AssumptionKind
    name: str
    text: str


_SECTIONS = {
    "Axioms:": AssumptionKind.AXIOM,
    "Section Variables:": AssumptionKind.SECTION_VARIABLE,
    "Theory:": AssumptionKind.UNSAFE,  # "Set is impredicative", "Type hierarchy is collapsed (...)"
}
_UNSAFE = re.compile(
    r"^(\S+) (?:is assumed to be (?:guarded|positive)|relies on an unsafe (?:universe )?hierarchy"
    r"|relies on definitional UIP)\.$"
)
IMPREDICATIVE_SET = "Set is impredicative"
_CLOSED = "Closed under the global context"


def parse_print_assumptions(text: str) -> list[PrintedAssumption]:
    """Entries of Coq 8.16's `Print Assumptions` answer.

    An entry starts at column 0; its type continues on lines that are indented
    or start with `:` (Coq breaks `name : type` before the colon when the type
    is long). Anything this parser does not recognise raises
    AssumptionsUnreadable, so an unknown kind of assumption is never dropped.
    """
    stripped = text.strip()
    if stripped == _CLOSED:
        return []
    entries: list[list[str]] = []  # [section title, entry lines...]
    section = None
    for line in stripped.splitlines():
        if not line.strip():
            continue
        if line in _SECTIONS:
            section = line
            continue
        # `used in foo to prove` (an axiom reached through an empty match) continues its entry
        if line[0].isspace() or line.startswith(":") or (entries and line.startswith("used in ")):
            if not entries:
                raise AssumptionsUnreadable(f"continuation line before any entry: {line!r}")
            entries[-1].append(line.strip())
            continue
        if section is None:
            raise AssumptionsUnreadable(f"entry outside any section: {line!r}")
        entries.append([section, line.strip()])
    if not entries:
        raise AssumptionsUnreadable(f"no entry in: {stripped[:200]!r}")
    parsed = []
    for section, *lines in entries:
        whole = " ".join(lines)
        unsafe = _UNSAFE.match(whole)
        name, _, rest = whole.partition(" ")
        if unsafe and section == "Axioms:":
            parsed.append(PrintedAssumption(AssumptionKind.UNSAFE, unsafe.group(1), whole))
        elif section == "Theory:":
            parsed.append(PrintedAssumption(AssumptionKind.UNSAFE, whole, whole))
        elif rest.startswith(":") or (not rest and len(lines) == 1 and section == "Section Variables:"):
            parsed.append(PrintedAssumption(_SECTIONS[section], name, whole))
        else:
            raise AssumptionsUnreadable(f"unrecognised entry under {section} {whole[:200]!r}")
    return parsed


# ---------------------------------------------------------------- reading terms

# Characters that can never be part of a (qualified) name; everything else,
# non-ASCII letters and symbols included, is kept inside a candidate.
_NOT_IN_NAME = r"\s()\[\]{}:;,=|@%<>!?*+\-/\\^&~`\"#$"
_CANDIDATE = re.compile(rf"[^{_NOT_IN_NAME}]+")
_ELIDED = "..."
# Coq's reserved words: never names, so never asked about.
_KEYWORDS = frozenset(
    "fun forall let in match with end return as fix cofix struct if then else Prop Set Type SProp".split()
)


# Paragraphs `Print` adds after the term and its type (argument scopes, ...).
_METADATA_LINE = re.compile(r"^(?:Arguments |\S+ is (?:not )?universe polymorphic$)")


def term_part(printed: str) -> str:
    """`Print NAME`'s answer without its trailing metadata paragraphs (`Arguments NAME x%nat_scope`)."""
    paragraphs = printed.rstrip().split("\n\n")
    while len(paragraphs) > 1 and all(_METADATA_LINE.match(line) for line in paragraphs[-1].splitlines()):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def name_candidates(printed: str) -> set[str]:
    """Every maximal run of name characters in a printed term, trailing dots removed."""
    out = set()
    for token in _CANDIDATE.findall(printed):
        token = token.strip(".")
        if token and not token[0].isdigit() and token not in _KEYWORDS:
            out.add(token)
    return out


# ---------------------------------------------------------------- the finder

Query = Callable[[str, int], str]  # (command, state) -> notices; raises on Coq's refusal
Locate = Callable[[str, int], tuple[str, str] | None]  # (name, state) -> (kind, qualified name)


class AssumptionFinder:
    """The assumptions of constants declared after a header, for one session.

    `query(command, state)` asks Coq and `locate(name, state)` resolves a name
    (CoqDocument's); `library` maps Coq's own library constants to their
    assumptions across runs (see axiom_cache). Everything else cached here is
    valid while the header is loaded: `new_header` resets it.
    """

    def __init__(self, query: Query, locate: Locate, library, library_roots: tuple[str, ...],
                 always_full: bool = False):
        self._query = query
        self._locate = locate
        self._library = library
        # only globals under these roots (Coq., the -Q/-R libraries) are the same in every header;
        # anything else (the top module, a functor's parameter `M.key`) is the header's own
        self._library_roots = tuple(root + "." for root in library_roots)
        self._local_prefix = ""  # set by new_header
        self.always_full = always_full
        self._header_state = 0
        self._default_flags = ""
        # per header text (the same text always declares the same globals), a few kept
        self._caches: OrderedDict[str, tuple[dict, dict]] = OrderedDict()
        self._about: dict[str, tuple[str, str] | None] = {}
        self._of_global: dict[str, frozenset[Assumption]] = {}
        self.fast = 0
        self.full = 0

    def set_default_flags(self, state: int) -> None:
        """Remember the typing flags of a state nothing has changed (the prelude)."""
        self._default_flags = self._query("Print Typing Flags.", state)

    def new_header(self, state: int, header: str, local_prefix: str) -> None:
        """`header` (after the prelude) is loaded at `state`; answers about it are kept per header text.

        Globals under `local_prefix` (the interactive module `Top.`, or the
        module of the file being replayed) belong to this header: never cached
        as library constants."""
        self._header_state = state
        self._local_prefix = local_prefix
        if header not in self._caches:
            self._caches[header] = ({}, {})
            if len(self._caches) > HEADER_CACHES:
                self._caches.popitem(last=False)
        self._caches.move_to_end(header)
        self._about, self._of_global = self._caches[header]

    # -------------------------------------------------------- public

    def of_new_constant(self, name: str, tip: int) -> frozenset[Assumption]:
        """Assumptions of `name`, declared after the header; `tip` must have PRINTING_SENTENCES in force."""
        own = self.about(name, tip, cached=False)
        if own is None or own[0] != "Constant":
            raise AssumptionsUnreadable(f"About {name} does not name the new constant: {own}")
        if not self.always_full:
            try:
                found = self._fast(own[1], tip)
                self.fast += 1
                return found
            except Fallback:
                pass
        self.full += 1
        return self.by_print_assumptions(own[1], tip)

    def by_print_assumptions(self, qualified: str, state: int) -> frozenset[Assumption]:
        """Coq's own answer: `Print Assumptions qualified` in `state`, names resolved there."""
        printed = parse_print_assumptions(self._query(f"Print Assumptions {qualified}.", state))
        return frozenset(self._resolve(p, state, cached=state == self._header_state) for p in printed)

    def about(self, name: str, state: int, cached: bool = True) -> tuple[str, str] | None:
        if cached and state == self._header_state and name in self._about:
            return self._about[name]
        found = self._locate(name, state)
        if cached and state == self._header_state:
            self._about[name] = found
        return found

    # -------------------------------------------------------- internals

    def _resolve(self, printed: PrintedAssumption, state: int, cached: bool) -> Assumption:
        if printed.kind is AssumptionKind.AXIOM:
            found = self.about(printed.name, state, cached)
            if found is None and self._local_prefix:
                # a name the document's notations made a keyword (`rem`) reads back qualified
                found = self.about(self._local_prefix + printed.name, state, cached)
            if found is None:
                return Assumption(AssumptionKind.AXIOM, printed.name, resolved=False)
            return Assumption(AssumptionKind.AXIOM, found[1])
        if printed.kind is AssumptionKind.UNSAFE:
            return Assumption(AssumptionKind.UNSAFE, printed.text)
        return Assumption(printed.kind, printed.name)

    def _fast(self, own: str, tip: int) -> frozenset[Assumption]:
        if self._query("Print Typing Flags.", tip) != self._default_flags:
            raise Fallback("typing flags differ from the defaults")
        found: set[Assumption] = set()
        seen = {own}
        todo = [own]
        while todo:
            constant = todo.pop()
            printed = term_part(self._query(f"Print {constant}.", tip))
            if _ELIDED in printed:
                raise Fallback(f"Coq elided part of {constant}")
            # The constant's own short name is itself: any other global of that
            # name is printed qualified, since the short name now means this one.
            for candidate in name_candidates(printed) - {constant.rsplit(".", 1)[-1]}:
                known = self.about(candidate, self._header_state)
                if known is not None:
                    kind, qualified = known
                    if kind in GLOBAL_KINDS:
                        found |= self._global(qualified)
                    elif kind == "Variable":
                        found.add(Assumption(AssumptionKind.SECTION_VARIABLE, candidate))
                    continue
                new = self.about(candidate, tip, cached=False)
                if new is None or new[1] in seen:
                    continue
                if new[0] != "Constant":
                    raise Fallback(f"{candidate} is a new {new[0]}")
                seen.add(new[1])
                todo.append(new[1])
        return frozenset(found)

    def _global(self, qualified: str) -> frozenset[Assumption]:
        """Assumptions of a global that existed at the header state (cached)."""
        known = self._of_global.get(qualified)
        if known is not None:
            return known
        library = qualified.startswith(self._library_roots) and not qualified.startswith(self._local_prefix)
        axioms = self._library.get(qualified) if library else None
        if axioms is not None:
            known = frozenset(Assumption(AssumptionKind.AXIOM, a) for a in axioms)
        else:
            known = self.by_print_assumptions(qualified, self._header_state)
            # only answers read back in full are kept across headers: a name as printed means nothing elsewhere
            if library and all(a.kind is AssumptionKind.AXIOM and a.resolved for a in known):
                self._library.put(qualified, frozenset(a.name for a in known))
        self._of_global[qualified] = known
        return known
