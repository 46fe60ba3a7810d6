"""The independent re-check (`proofsmith recheck`): each proof compiled by plain `coqc`, outside every session.

Nothing here goes through coqidetop or the checker's sessions; of the checker
it shares only the load-path reader (and child_process, so coqc dies with
proofsmith). Each proof becomes its own `.v` file:

- a statement under a header: the tactic prelude recorded with the proof, the
  header, the statement, the proof;
- a library theorem in its own file: the file's text up to the statement
  (read from the installed stdlib or the project), the statement, the proof,
  compiled as that file's own module (`-Q TMP Coq.Arith` for
  theories/Arith/PeanoNat.v; the project's `_CoqProject` load path); where
  the run loaded modules before the proof (its record's `place.loads`,
  `proofsmith eval --decision-procedures`), the same `Require Import` right
  after the statement. A recorded load naming the file's own module is
  refused before compiling; one that reaches the file through a library
  depending on it Coq refuses itself (the file is compiled as that module:
  "Cannot load a library with the same name as the current one"), and the
  reason says it is a leak. This decides from Coq's own answer, not from the
  run's leak check (prover.decision_procedures).

The statement is stated under a name drawn at random for that compile, so a
proof that aborts and states something else, or defines the name itself,
leaves the re-check's theorem undefined. After the proof come a `Section` that
Coq refuses while any proof is open (`Set Nested Proofs Allowed` cannot leave
one pending) and `Print Assumptions` of that name between two markers of the
same nonce (eval.coqc_answers): only the text between them is read.

A proof passes when every sentence up to the last marker went through, it
admits nothing, Print Assumptions reports no definition accepted with a kernel
check off, and each name it lists is
- a section variable or a functor parameter (of a library theorem) already
  there before the statement: the theorem's own hypotheses;
- a constant of a library loaded from a `.vo` file under `coqc -where`'s
  theories/ (Coq's own library), located in the compile that printed it
  (`Locate`, `Print Libraries`, `Print LoadPath`);
- for a file of Coq's own library, an axiom the file declares before the
  statement; for a header, an axiom the header declares (`Axiom`,
  `Parameter`, ...), unless the problem says its header declares none
  (mutants: the header is their library file's imports).
Anything else (an admitted helper anywhere, an axiom the proof declares, a
library from elsewhere) fails, with the reason.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import tempfile
from collections.abc import Generator, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from proofsmith.checker import child_process
from proofsmith.eval.coqc_answers import (
    LOCATOR_LIBRARIES,
    AnswerError,
    Assumptions,
    Located,
    between,
    locate_command,
    locator_definition,
    marker_command,
    parse_assumptions,
    parse_libraries,
    parse_load_path,
    parse_locate,
)
from proofsmith.formats.coq_load_path import LoadPath, LoadPathError

STDLIB = "stdlib"
HEADER_MODULE = "ProofsmithRecheck"
THEOREM_WORDS = ("Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Property", "Example")
_ADMIT = re.compile(r"\b(admit|Admitted|give_up)\b")
_AXIOM_DECLARATION = re.compile(
    r"\b(?:Axiom|Axioms|Parameter|Parameters|Conjecture|Hypothesis|Hypotheses|Variable|Variables)\s+([^:.]+):"
)
_MODIFIERS = r"(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*"
_THEOREM = rf"{_MODIFIERS}(?:{'|'.join(THEOREM_WORDS)})\s+"
_DECLARED_THEOREM = re.compile(rf"^({_THEOREM})([^\W\d][\w']*)")
_ANY_THEOREM_NAME = re.compile(rf"\b(?:{'|'.join(THEOREM_WORDS)}|Definition|Fixpoint|Instance|Let)\s+([^\W\d][\w']*)")
# A logical module name as a recorded load may give it (dot-separated identifiers, nothing else).
_MODULE_NAME = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")
# Coq's refusal to load, while compiling a file as module M, a library named M (directly or not).
_SAME_LIBRARY = "Cannot load a library with the same name as the current one"
_ERROR_AT = re.compile(r'File "[^"]*", line (\d+), characters [\d-]+:\s*\n?((?:Error|Anomaly)[^\n]*(?:\n(?!File)[^\n]+)*)')


class RebuildError(ValueError):
    """The file a proof is compiled in cannot be written: the message says what is missing."""


@dataclass(frozen=True)
class HeaderProblem:
    """A statement under a header, checked after the tactic prelude recorded with the proof."""

    prelude: str
    header: str
    statement: str
    load_path: LoadPath = LoadPath()
    # whether axioms the header declares are part of the problem (a mutant's header declares none)
    header_axioms: bool = True


@dataclass(frozen=True)
class FileProblem:
    """A theorem of a library file, proved where it stands: `project` is `stdlib` or a `_CoqProject` folder."""

    project: str
    file: str
    name: str  # qualified or short
    line: int | None = None  # the statement's first line
    statement: str = ""  # as the run recorded it: the file's must be the same
    load_path: LoadPath = LoadPath()  # on top of the project's own (what the run added: a trace's load path)
    # modules the run Required right after the statement (its record's place.loads: --decision-procedures)
    loads: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecheckItem:
    kind: str  # what it is, for the report ("proof", "kept conjecture", ...)
    name: str
    proof: str
    problem: HeaderProblem | FileProblem | None
    error: str = ""  # why it cannot be re-checked (it then fails with this reason)


@dataclass(frozen=True)
class RecheckVerdict:
    ok: bool
    reason: str
    axioms: tuple[str, ...] = ()  # qualified names of the axioms the proof rests on
    hypotheses: tuple[str, ...] = ()  # section variables and functor parameters it uses (the theorem's own)


@lru_cache(maxsize=1)
def coq_theories() -> Path:
    """Coq's own library: `coqc -where`/theories."""
    done = child_process.run(["coqc", "-where"], text=True, timeout_s=60)
    if done.returncode != 0:
        raise RebuildError(f"coqc -where failed: {done.stderr.strip()[:200]}")
    return (Path(done.stdout.strip()) / "theories").resolve()


# ------------------------------------------------------------------ the file


def _code_only(text: str) -> str:
    """`text` with its comments blanked (strings kept), offsets unchanged."""
    out = list(text)
    i, n, depth = 0, len(text), 0
    while i < n:
        if text.startswith("(*", i):
            depth += 1
            out[i] = out[i + 1] = " "
            i += 2
        elif depth and text.startswith("*)", i):
            depth -= 1
            out[i] = out[i + 1] = " "
            i += 2
        elif depth:
            if text[i] != "\n":
                out[i] = " "
            i += 1
        elif text[i] == '"':
            end = text.find('"', i + 1)
            while end != -1 and text.startswith('""', end):
                end = text.find('"', end + 2)
            i = n if end == -1 else end + 1
        else:
            i += 1
    return "".join(out)


def _sentence_end(code: str, start: int) -> int:
    """The offset just after the `.` that ends the sentence at `start` (comments blanked in `code`)."""
    i, n = start, len(code)
    while i < n:
        if code[i] == '"':
            end = code.find('"', i + 1)
            while end != -1 and code.startswith('""', end):
                end = code.find('"', end + 2)
            if end == -1:
                break
            i = end + 1
        elif code[i] == "." and (i + 1 == n or code[i + 1].isspace()):
            return i + 1
        else:
            i += 1
    raise RebuildError("the statement has no final period")


@dataclass(frozen=True)
class CoqcFile:
    """A proof's `.v` file in parts, the module coqc compiles it as, and what its assumptions may be."""

    prefix: str  # what precedes the statement
    statement: str  # under `theorem`, the re-check's own name
    theorem: str
    proof: str
    module: str
    args: tuple[str, ...]
    declared: frozenset[str] = frozenset()  # short names of the axioms a header declares (allowed)
    coq_file: bool = False  # the prefix is a file of Coq's own library: its axioms are Coq's
    functor_parameters: bool = False  # a library theorem: open functors' parameters are hypotheses
    header_admits: bool = False
    loads: tuple[str, ...] = ()  # Required right after the statement, before the proof (as the run did)

    @property
    def noinit(self) -> bool:
        """Compiled without Coq's prelude (a file of Coq.Init)."""
        return self.module.startswith("Coq.Init.")

    def text(self, before_statement: str, after_proof: str, top: str = "") -> str:
        before = f"\n{before_statement}" if before_statement else ""
        loads = f"Require Import {' '.join(self.loads)}.\n" if self.loads else ""
        return f"{top}{self.prefix}{before}{self.statement}\n{loads}{self.proof}\n{after_proof}"

    def compile(self, text: str, timeout_s: float) -> subprocess.CompletedProcess:
        package, _, stem = self.module.rpartition(".")
        with tempfile.TemporaryDirectory(prefix="proofsmith-recheck-") as tmp:
            # in its own folder: coqc writes .vo/.glob files and lia a cache there
            (Path(tmp) / f"{stem}.v").write_text(text, encoding="utf-8")
            binding = ["-Q", tmp, package] if package else []
            noinit = ["-noinit"] if self.noinit else []
            # coqc dies with proofsmith (child_process), even when proofsmith is killed
            return child_process.run(["coqc", "-q", *self.args, *binding, *noinit, f"{stem}.v"], cwd=tmp, text=True,
                                     timeout_s=timeout_s)


def _proof_block(proof: str) -> str:
    """`Proof.` proof `Qed.`; a proof that opens with its own `Proof` sentence (`Proof using x.`, the
    human proofs of a library) keeps it, and gets the `Qed.` it lacks."""
    body = proof.strip()
    if not re.match(r"Proof\b", body):
        return f"Proof.\n{body}\nQed."
    return body if re.search(r"(?:^|\s)(?:Qed|Defined)\.$", body) else f"{body}\nQed."


def _renamed(statement: str, theorem: str) -> str:
    """The statement declaring `theorem` instead of its own name."""
    text = statement.strip()
    declared = _DECLARED_THEOREM.match(_code_only(text))
    if declared is None:
        raise RebuildError(f"no theorem keyword ({', '.join(THEOREM_WORDS)}) and name at the start of the statement "
                           f"{text[:80]!r}")
    return text[: declared.start(2)] + theorem + text[declared.end(2):]


def header_file(problem: HeaderProblem, proof: str, theorem: str) -> CoqcFile:
    header = _code_only(problem.header)
    axioms = {n for group in _AXIOM_DECLARATION.findall(header) for n in group.split()}
    # a name the header also states as a theorem may be an admitted lemma: never a declared axiom
    declared = frozenset(axioms - set(_ANY_THEOREM_NAME.findall(header))) if problem.header_axioms else frozenset()
    return CoqcFile(f"{problem.prelude}\n{problem.header}\n", _renamed(problem.statement, theorem), theorem,
                    _proof_block(proof), HEADER_MODULE, tuple(problem.load_path.coq_args()), declared,
                    header_admits=bool(_ADMIT.search(header)))


def _library_source(problem: FileProblem) -> tuple[Path, str, LoadPath]:
    """The file a library theorem is in, the module it is compiled as, and its project's load path."""
    if problem.project == STDLIB:
        parts = Path(problem.file).with_suffix("").parts
        if len(parts) < 2 or parts[0] != "theories":
            raise RebuildError(f"{problem.file}: a stdlib file is named from its repository root, e.g. "
                               "theories/Arith/PeanoNat.v")
        return coq_theories().joinpath(*parts[1:]).with_suffix(".v"), ".".join(["Coq", *parts[1:]]), LoadPath()
    try:
        load_path = LoadPath.from_project(problem.project)
    except LoadPathError as exc:
        raise RebuildError(str(exc)) from None
    source = (Path(problem.project) / problem.file).resolve()
    for binding in load_path.bindings:
        if binding.logical and source.is_relative_to(binding.directory):
            parts = source.relative_to(binding.directory).with_suffix("").parts
            return source, ".".join([binding.logical, *parts]), load_path
    raise RebuildError(f"{problem.file}: not under any -Q/-R folder of {Path(problem.project) / '_CoqProject'}")


def library_file(problem: FileProblem, proof: str, theorem: str) -> CoqcFile:
    source, module, load_path = _library_source(problem)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RebuildError(f"cannot read {source}: {exc}") from None
    code = _code_only(text)
    short = re.escape(problem.name.rsplit(".", 1)[-1])
    found = []
    for match in re.finditer(rf"(?<![\w'.])({_THEOREM})({short})(?![\w'])", code):
        line = code.count("\n", 0, match.start()) + 1
        keyword_line = code.count("\n", 0, match.end(1)) + 1
        if problem.line is None or problem.line in (line, keyword_line):
            found.append(match)
    if len(found) != 1:
        where = f" at line {problem.line}" if problem.line else ""
        raise RebuildError(f"{source}: {len(found)} theorems named {problem.name.rsplit('.', 1)[-1]}{where}")
    start, name_start, name_end = found[0].start(), found[0].start(2), found[0].end(2)
    end = _sentence_end(code, name_end)
    if problem.statement and " ".join(text[start:end].split()) != " ".join(problem.statement.split()):
        raise RebuildError(f"{source}: the statement at line {problem.line} is not the one recorded with the proof "
                           "(the file changed since)")
    statement = text[start:name_start] + theorem + text[name_end:end]
    args = tuple(load_path.merged(problem.load_path).coq_args())
    bad = [m for m in problem.loads if not _MODULE_NAME.fullmatch(m)]
    if bad:
        raise RebuildError(f"the load recorded before the proof, {bad[0]!r}, is not a logical module name")
    return CoqcFile(text[:start], statement, theorem, _proof_block(proof), module, args,
                    coq_file=source.resolve().is_relative_to(coq_theories()), functor_parameters=True,
                    loads=problem.loads)


def _own_file_load(coq_file: CoqcFile) -> RecheckVerdict | None:
    """A recorded load that names the theorem's own file (its module, or a module inside it): refused before
    compiling. One that reaches the file through another (a file depending on it) Coq refuses itself, since
    the file is compiled as its own module (`_rejection`)."""
    own = [m for m in coq_file.loads if m == coq_file.module or m.startswith(coq_file.module + ".")]
    if own:
        return RecheckVerdict(False, f"the load recorded before the proof ({own[0]}) is the theorem's own file "
                                     f"({coq_file.module}): a leak")
    return None


# ------------------------------------------------------------------ queries and their answers


class _Queries:
    """Commands bracketed by markers of one nonce, and their answers read back from coqc's output."""

    def __init__(self, nonce: str):
        self.nonce = nonce

    def _markers(self, tag: str) -> tuple[str, str]:
        return f"proofsmith_recheck_{self.nonce}_{tag}_begin", f"proofsmith_recheck_{self.nonce}_{tag}_end"

    def add(self, tag: str, command: str) -> str:
        begin, end = self._markers(tag)
        return marker_command(begin) + command + "\n" + marker_command(end)

    def answer(self, output: str, tag: str) -> str:
        return between(output, *self._markers(tag))


def _open_proof_sentinel(nonce: str) -> str:
    """Coq refuses a Section while a proof is open: the file stops here if the proof left one pending."""
    return f"Section proofsmith_recheck_{nonce}.\nEnd proofsmith_recheck_{nonce}.\n"


def _trailer(coq_file: CoqcFile, queries: _Queries) -> str:
    # nothing the proof set may change how the answers print
    return (_open_proof_sentinel(queries.nonce) + "Set Printing Width 4000.\nUnset Printing Notations.\n"
            + queries.add("assumptions", f"Print Assumptions {coq_file.theorem}."))


def _rejection(done: subprocess.CompletedProcess, text: str, coq_file: CoqcFile, nonce: str) -> RecheckVerdict:
    """Why coqc stopped before the last marker."""
    sentinel_line = text[: text.find(_open_proof_sentinel(nonce))].count("\n") + 1
    error = _ERROR_AT.search(done.stderr) or _ERROR_AT.search(done.stdout)
    if error is not None and int(error.group(1)) == sentinel_line:
        return RecheckVerdict(False, "a proof is still open after the proof (a nested or unfinished proof)")
    if error is not None and int(error.group(1)) > sentinel_line and coq_file.theorem in error.group(2):
        return RecheckVerdict(False, "the proof does not end with the stated theorem proved (it aborts it, or "
                                     "states another)")
    message = " ".join((error.group(2) if error else (done.stderr or done.stdout)).split())
    if coq_file.loads and _SAME_LIBRARY in message:
        return RecheckVerdict(False, f"the load recorded before the proof (Require Import {' '.join(coq_file.loads)}) "
                                     f"brings the theorem's own file {coq_file.module}, through a library depending on "
                                     f"it: a leak (coqc: {message[-200:]})")
    return RecheckVerdict(False, f"coqc rejected it: {message[-300:] or f'exit status {done.returncode}'}")


def _library_files(library: str, load_path: tuple[tuple[str, str], ...]) -> list[Path]:
    """Every `.vo` file the load path binds the logical name `library` to."""
    package, _, base = library.rpartition(".")
    return [Path(folder, f"{base}.vo") for logical, folder in load_path
            if logical == package and Path(folder, f"{base}.vo").is_file()]


_NOT_TERMS = frozenset({"Ltac", "Ltac2", "Module", "Module Type", "Section"})


@dataclass(frozen=True)
class _Judgement:
    """What one name Print Assumptions lists is, and why it is not allowed (None: it is)."""

    name: str
    problem: str | None = None
    hypothesis: bool = False  # a section variable or functor parameter: the theorem's own
    in_file: bool = False  # declared by a library theorem's own file before it (a module type's field, maybe)


def _judge(listed: str, after: tuple[Located, ...], before: tuple[Located, ...], libraries: tuple[str, ...],
           load_path: tuple[tuple[str, str], ...], coq_file: CoqcFile) -> _Judgement:
    # the term the name denotes (Locate also lists tactics and modules of that name)
    found = next((located for located in after if located.kind not in _NOT_TERMS), None)
    if found is None:
        return _Judgement(listed, f"{listed}: Locate finds no term of that name")
    if found.kind == "Variable":
        if found in before:
            return _Judgement(found.name, hypothesis=True)
        return _Judgement(found.name, f"{found.name}: a section variable the proof declares")
    if found.kind != "Constant":
        return _Judgement(found.name, f"{found.name}: Print Assumptions lists a {found.kind}")
    name = found.name
    if name.startswith(coq_file.module + "."):
        if found not in before:
            return _Judgement(name, f"{name}: an axiom the proof itself declares")
        if coq_file.coq_file or name.rsplit(".", 1)[-1] in coq_file.declared:
            return _Judgement(name)
        if coq_file.functor_parameters:
            return _Judgement(name, f"{name}: an axiom or admitted lemma of its file, outside Coq's standard library",
                              in_file=True)
        if coq_file.header_admits:
            return _Judgement(name, f"{name}: depends on an admitted lemma or an axiom of the header (the header admits)")
        return _Judgement(name, f"{name}: an axiom or admitted lemma of the header, outside Coq's standard library")
    library = max((lib for lib in libraries if name.startswith(lib + ".")), key=len, default=None)
    if library is not None:
        files = _library_files(library, load_path)
        outside = [str(f) for f in files if not f.resolve().is_relative_to(coq_theories())]
        if files and not outside:
            return _Judgement(name)
        where = ", ".join(outside) if outside else "no .vo file on the load path"
        return _Judgement(name, f"{name}: an axiom or admitted lemma of library {library} ({where}), outside Coq's "
                                "standard library")
    if coq_file.functor_parameters and found in before:
        return _Judgement(name, hypothesis=True)
    return _Judgement(name, f"{name}: neither in a library nor in the file")


def _interface_fields(coq_file: CoqcFile, names: list[str], timeout_s: float) -> set[str]:
    """Those of `names` (constants a library file declares before the theorem) that are fields of a
    module type still open there: the interface's parameters, hypotheses of everything proved inside it.
    A third compile, asking `Locate Module` of every module between the file's and each constant."""
    ancestors = sorted({name.rsplit(".", k)[0] for name in names for k in range(1, name.count(".") + 1)
                        if name.rsplit(".", k)[0].startswith(coq_file.module + ".")})
    if not ancestors:
        return set()
    nonce = secrets.token_hex(8)
    theorem = f"proofsmith_recheck_{nonce}"
    coq_file = replace(coq_file, statement=coq_file.statement.replace(coq_file.theorem, theorem, 1), theorem=theorem)
    queries = _Queries(nonce)
    after = _trailer(coq_file, queries) + "".join(queries.add(f"module_{i}", f"Locate Module {m}.")
                                                   for i, m in enumerate(ancestors))
    try:
        done = coq_file.compile(coq_file.text("", after), timeout_s)
        open_types = {m for i, m in enumerate(ancestors)
                      if queries.answer(done.stdout, f"module_{i}").strip().split("\n")[0] == f"Open Module Type {m}"}
    except (subprocess.TimeoutExpired, AnswerError):
        return set()
    return {name for name in names if any(name.startswith(m + ".") for m in open_types)}


def recheck_all(items: Iterable[RecheckItem], jobs: int = 2, timeout_s: float = 600.0
                ) -> Generator[tuple[RecheckItem, RecheckVerdict], None, None]:
    """Every item re-checked, `jobs` coqc at a time; (item, verdict) as each finishes (close it to stop)."""
    from proofsmith.checker.parallel import parallel_map

    return parallel_map(lambda _, item: (item, recheck(item, timeout_s)), items, jobs, name="recheck")


def recheck(item: RecheckItem, timeout_s: float = 600.0) -> RecheckVerdict:
    """Compile `item`'s proof with plain coqc and judge it (two compiles when it has axioms, three for a
    library theorem leaning on its file's own declarations)."""
    if item.error:
        return RecheckVerdict(False, item.error)
    if item.problem is None:
        return RecheckVerdict(False, "nothing to re-check it against")
    admits = _ADMIT.search(_code_only(item.proof))
    if admits:
        return RecheckVerdict(False, f"the proof admits ({admits.group(1)})")
    nonce = secrets.token_hex(8)
    theorem = f"proofsmith_recheck_{nonce}"
    try:
        if isinstance(item.problem, FileProblem):
            coq_file = library_file(item.problem, item.proof, theorem)
        else:
            coq_file = header_file(item.problem, item.proof, theorem)
        coq_theories()
    except RebuildError as exc:
        return RecheckVerdict(False, f"cannot rebuild the file: {exc}")
    leak = _own_file_load(coq_file)
    if leak is not None:
        return leak

    queries = _Queries(nonce)
    text = coq_file.text("", _trailer(coq_file, queries))
    try:
        done = coq_file.compile(text, timeout_s)
    except subprocess.TimeoutExpired:
        return RecheckVerdict(False, f"coqc did not finish in {timeout_s:g} s")
    try:
        assumptions = parse_assumptions(queries.answer(done.stdout, "assumptions"))
    except AnswerError:
        return _rejection(done, text, coq_file, nonce)
    if assumptions.unsafe:
        return RecheckVerdict(False, "Print Assumptions reports unsafe definitions: " + "; ".join(assumptions.unsafe)[:300])
    if assumptions.closed:
        return RecheckVerdict(True, "closed under the global context")
    return _judge_assumptions(coq_file, assumptions, timeout_s)


def _judge_assumptions(coq_file: CoqcFile, assumptions: Assumptions, timeout_s: float) -> RecheckVerdict:
    """The second compile: each listed name located before the statement and after Print Assumptions
    (in the compile that prints them again), with the libraries loaded and the load path they came from."""
    nonce = secrets.token_hex(8)
    theorem = f"proofsmith_recheck_{nonce}"
    coq_file = replace(coq_file, statement=coq_file.statement.replace(coq_file.theorem, theorem, 1), theorem=theorem)
    queries = _Queries(nonce)
    names = assumptions.names
    # the locators' code is read at the very top, above the recorded prelude too (a tampered record's)
    locators = [None if coq_file.noinit else f"proofsmith_recheck_{nonce}_locate_{i}" for i in range(len(names))]
    top = "" if coq_file.noinit else LOCATOR_LIBRARIES + "".join(
        locator_definition(locator, n) for locator, n in zip(locators, names) if locator)
    before = "".join(queries.add(f"before_{i}", locate_command(n, locator))
                     for i, (n, locator) in enumerate(zip(names, locators)))
    after = _trailer(coq_file, queries) + "".join(queries.add(f"after_{i}", locate_command(n, locator))
                                                   for i, (n, locator) in enumerate(zip(names, locators)))
    after += queries.add("libraries", "Print Libraries.") + queries.add("load_path", "Print LoadPath.")
    text = coq_file.text(before, after, top)
    try:
        done = coq_file.compile(text, timeout_s)
    except subprocess.TimeoutExpired:
        return RecheckVerdict(False, f"coqc did not finish in {timeout_s:g} s (locating {', '.join(names)})")
    try:
        again = parse_assumptions(queries.answer(done.stdout, "assumptions"))
        located = [(parse_locate(queries.answer(done.stdout, f"after_{i}")),
                    parse_locate(queries.answer(done.stdout, f"before_{i}"))) for i in range(len(names))]
        libraries = parse_libraries(queries.answer(done.stdout, "libraries"))
        load_path = parse_load_path(queries.answer(done.stdout, "load_path"))
    except AnswerError:
        return _rejection(done, text, coq_file, nonce)
    if again != assumptions:
        return RecheckVerdict(False, "Print Assumptions answers differently in a second compile of the same file")
    judged = [_judge(listed, after_answer, before_answer, libraries, load_path, coq_file)
              for listed, (after_answer, before_answer) in zip(names, located)]
    fields = _interface_fields(coq_file, [j.name for j in judged if j.in_file], timeout_s) if any(
        j.in_file for j in judged) else set()
    judged = [replace(j, problem=None, hypothesis=True) if j.name in fields else j for j in judged]
    axioms = [j.name for j in judged if not j.hypothesis]
    hypotheses = [j.name for j in judged if j.hypothesis]
    problems = [j.problem for j in judged if j.problem]
    if problems:
        return RecheckVerdict(False, "depends on what is not allowed: " + "; ".join(problems), tuple(axioms),
                              tuple(hypotheses))
    note = ", ".join([*(f"axioms: {', '.join(axioms)}" for _ in axioms[:1]),
                      *(f"hypotheses: {', '.join(hypotheses)}" for _ in hypotheses[:1])])
    return RecheckVerdict(True, note, tuple(axioms), tuple(hypotheses))
