"""Mutating a whole traced library: parallel, resumable, with a funnel at the end.

Input is a trace directory (LeanDojo Benchmark 4 layout, what `proofsmith
trace` writes): its ``corpus.jsonl`` gives the library's files, imports and
declarations. Every theorem-like declaration is a parent; the premises it may
use are the ones accessible from it.

Two passes, each over files in corpus order, in chunks of one file so that a
checker session loads a file's imports once per chunk:

1. source statements: every theorem of the library opened in Coq and its
   statement keyed up to bound names, so mutants that restate a library
   theorem are not counted as new (``OUT.source.jsonl``);
2. mutation of the first ``limit`` parents: verified mutants go to OUT, one
   line per parent to ``OUT.parents.jsonl`` (its funnel counts).

Both logs are appended and flushed as each theorem finishes; a rerun skips
what they already hold, and drops mutants of a parent the kill cut short.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from proofsmith.checker.backend import Checker, ProofSession
from proofsmith.checker.parallel import parallel_flat_map
from proofsmith.data_synth.funnel import Funnel
from proofsmith.data_synth.mutation import LibraryTheorem, MutationSettings, Mutator, open_parent, parent_statement
from proofsmith.data_synth.premise_index import PremiseIndex, is_theorem_kind
from proofsmith.formats.coq_load_path import LoadPath, LoadPathError
from proofsmith.formats.json_files import InputFileError, JsonlAppender, read_json, read_jsonl
from proofsmith.formats.mutant_record import MutantRecord, keep_parents, read_records
from proofsmith.retrieval.corpus import Corpus, CorpusError, Premise

CHUNK = 16  # parents per work item (all from one file)
FUNNEL_EVERY = 250  # parents between rewrites of the funnel files


class LibraryError(ValueError):
    """A trace directory that cannot be mutated; the message names it and says what is wrong."""


def module_of(path: str, logical_roots: dict[str, str]) -> str:
    """The logical module of a corpus file: `theories/Lists/List.v` -> `Coq.Lists.List`.

    A corpus path starts with the name of its library's root folder, which
    `logical_roots` maps to the library's logical name (the trace's
    metadata.json says which); an unknown root stands for itself.
    """
    root, _, rest = path.replace("\\", "/").removesuffix(".v").partition("/")
    return ".".join([logical_roots.get(root, root), *rest.split("/")])


@dataclass
class MutationLibrary:
    """A traced library's parents, premise index, and provenance."""

    trace_dir: Path
    corpus: Corpus
    parents: list[LibraryTheorem]
    index: PremiseIndex

    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # root folder -> (repo, commit)
    load_path: LoadPath = LoadPath()  # what Coq needs to load the library (the trace's metadata.json)

    @classmethod
    def load(cls, trace_dir: Path, extra_load_path: LoadPath = LoadPath(), progress: bool = False) -> MutationLibrary:
        """The library a trace directory describes; `extra_load_path` adds to the load path its metadata records.
        `progress`: a bar over the declarations while the premise index is built."""
        corpus_file = trace_dir / "corpus.jsonl"
        if not corpus_file.is_file():
            raise LibraryError(f"{trace_dir}: no corpus.jsonl (expected a trace directory written by `proofsmith trace`)")
        try:
            corpus = Corpus.load(corpus_file)
        except CorpusError as exc:
            raise LibraryError(str(exc)) from None
        roots, sources = {"theories": "Coq"}, {"theories": ("coq/coq", "")}
        load_path = LoadPath()
        library_roots: dict[str, str] = {}  # root folder name -> its folder on disk
        metadata = trace_dir / "metadata.json"
        if metadata.is_file():
            try:
                meta = read_json(metadata)
                libraries = meta.get("libraries", [])
                if "load_path" in meta:
                    load_path = LoadPath.from_json(meta["load_path"], where=f"{metadata}: load_path")
                for lib in libraries:
                    root = Path(str(lib["root"])).name
                    library_roots[root] = str(lib["root"])
                    roots[root] = str(lib["logical"])
                    repo = str(lib.get("url", "")).removeprefix("https://github.com/").strip("/")
                    sources[root] = (repo or root, str(lib.get("commit", "")))
                    if "load_path" not in meta:  # a trace from before load paths were recorded: guess
                        load_path = load_path.merged(_loadpath(trace_dir, Path(str(lib["root"])), str(lib["logical"])))
            except (LoadPathError, InputFileError) as exc:
                raise LibraryError(str(exc)) from None
            except (AttributeError, KeyError, TypeError) as exc:
                raise LibraryError(f"{metadata}: not a trace metadata file ({exc})") from None
        library_roots = library_roots or {"theories": _coqlib_theories()}
        headers = {}
        for path, f in corpus.files.items():
            own = f"Require Import {module_of(path, roots)}."
            root, _, rel = path.partition("/")
            source = Path(library_roots[root]) / rel if root in library_roots else None
            headers[path] = (file_header(path, f.imports, roots, source), own)
        parents = [
            LibraryTheorem(p.full_name, p.path, p.start, p.end, headers[p.path][0], p.id, headers[p.path][1])
            for p in corpus.premises
            if is_theorem_kind(p.kind, p.code)
        ]
        if not parents:
            raise LibraryError(f"{corpus_file}: no theorem or lemma among {len(corpus)} declarations")
        premises = corpus.premises
        if progress:
            from tqdm import tqdm

            # from_premises reads them once, in order: the bar counts them as it goes
            premises = cast("list[Premise]", tqdm(premises, desc="premise index", unit="decl", dynamic_ncols=True,
                                                  mininterval=0.5))
        index = PremiseIndex.from_premises(premises)
        return cls(trace_dir, corpus, parents, index, sources, load_path.merged(extra_load_path))

    def source(self, path: str) -> str:
        """`owner/repo@commit path`, as benchmark records cite their source."""
        repo, commit = self.sources.get(path.split("/", 1)[0], ("unknown", ""))
        return f"{repo}@{commit or 'unknown'} {path}"

    def positions(self) -> dict[str, tuple[str, list, list]]:
        return {p.full_name: (p.path, list(p.start), list(p.end)) for p in self.corpus.premises}


_SCOPE_OR_IMPORT = re.compile(
    r"^(?:#\[\s*(?:local|global)\s*\]\s*|Local\s+|Global\s+)?(Open\s+Scope\s+[\w']+|Import\s+[\w.' ]+)\s*\.(?=\s)",
    re.M,
)


def file_header(path: str, imports: Sequence[str], roots: dict[str, str], source: Path | None) -> str:
    """What a file's theorems are stated in: its requires, the file itself, and the
    scopes it opens and modules it imports at top level (read from its source,
    when it is on disk), so that Coq prints statements with the file's notations."""
    modules = [module_of(i, roots) for i in imports if not i.endswith("Init/Prelude.v")]
    lines = [f"Require Import {m}." for m in modules]
    lines.append(f"Require Import {module_of(path, roots)}.")
    if source is not None and source.is_file():
        text = _strip_comments(source.read_text(encoding="utf-8", errors="replace"))
        for m in _SCOPE_OR_IMPORT.finditer(text):
            sentence = " ".join(m.group(1).split()) + "."
            if sentence not in lines:
                lines.append(sentence)
    return "\n".join(lines)


def _strip_comments(text: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith("(*", i):
            depth += 1
            i += 2
        elif depth and text.startswith("*)", i):
            depth -= 1
            i += 2
        else:
            if not depth or text[i] == "\n":
                out.append(text[i])
            i += 1
    return "".join(out)


def _coqlib_theories() -> str:
    from proofsmith.checker.coq.library import coqlib

    return str(coqlib() / "theories")


def _loadpath(trace_dir: Path, root: Path, logical: str) -> LoadPath:
    """`-R DIR Logical` for a library whose compiled files Coq would not find by itself:
    the copy `proofsmith trace` compiled into TRACE/build/Logical, else the
    library's own folder if it holds .vo files outside Coq's installation."""
    built = trace_dir / "build" / logical
    if built.is_dir():
        return LoadPath.of("-R", built, logical)
    from proofsmith.checker.coq.library import coqlib

    installed = coqlib() in root.parents or root == coqlib() / "theories"
    if not installed and root.is_dir() and any(root.rglob("*.vo")):
        return LoadPath.of("-R", root, logical)
    return LoadPath()


def _chunks(parents: list[LibraryTheorem]) -> list[list[LibraryTheorem]]:
    chunks: list[list[LibraryTheorem]] = []
    for p in parents:
        if chunks and chunks[-1][0].path == p.path and len(chunks[-1]) < CHUNK:
            chunks[-1].append(p)
        else:
            chunks.append([p])
    return chunks


def _each_parent(checker: Checker, workers: int, parents: list[LibraryTheorem],
                 work: Callable[[ProofSession, LibraryTheorem], Any]) -> closing[Any]:
    """`work(session, parent)` for every parent on `workers` threads, a chunk at a time: ("ok", result)
    or ("error", (parent, why)) per parent in completion order; close it (`with`) to end the workers."""

    def work_on_chunk(_, chunk: list[LibraryTheorem]) -> Iterator[tuple[str, Any]]:
        # a lease per chunk, so that the pool recycles sessions after `max_uses` checks
        with checker.session() as session:
            for parent in chunk:
                try:
                    outcome = "ok", work(session, parent)
                except Exception as exc:  # one theorem must never stop the run
                    outcome = "error", (parent, f"{type(exc).__name__}: {exc}")
                yield outcome

    return closing(parallel_flat_map(work_on_chunk, _chunks(parents), max(1, workers), cancel_running=True))


def _progress(total: int, initial: int, desc: str):
    from tqdm import tqdm

    # shown on a pipe too (a log file): a long pass must never look like a hang
    return tqdm(total=total, initial=initial, desc=desc, unit="thm", dynamic_ncols=True, mininterval=1.0)


def select_parents(library: MutationLibrary, files: str | None = None, area: str | None = None,
                   limit: int | None = None) -> list[LibraryTheorem]:
    """The parents to mutate: those of corpus files matching the glob `files` (e.g.
    `theories/Lists/*.v`) and of the library area `area` (a folder under the library's root, e.g.
    `Lists` or `Numbers/Natural`), in corpus order, the first `limit` of them. LibraryError when
    nothing is left, naming what was asked and what there is."""
    import fnmatch

    parents = library.parents
    if files is not None:
        parents = [p for p in parents if fnmatch.fnmatch(p.path, files)]
        if not parents:
            raise LibraryError(f"--files {files}: no theorem of the trace is in a file matching it (files are named "
                               f"as in its corpus, e.g. {library.parents[0].path})")
    if area is not None:
        prefix = area.strip("/").replace(".", "/") + "/"
        parents = [p for p in parents if p.path.partition("/")[2].startswith(prefix)]
        if not parents:
            raise LibraryError(f"--area {area}: no theorem in that area; areas: {', '.join(areas(library)[:30])}")
    return parents[:limit] if limit else parents


def areas(library: MutationLibrary) -> list[str]:
    """The library's top-level areas (first folder under each library root), most theorems first."""
    counts = Counter(p.path.split("/")[1] for p in library.parents if p.path.count("/") >= 2)
    return [name for name, _ in counts.most_common()]


def source_statements(library: MutationLibrary, checker: Checker, workers: int, log_path: Path,
                      settings: MutationSettings) -> dict[str, str]:
    """Key -> theorem name for every library theorem Coq can open (pass 1)."""
    records = [record for _, record in read_jsonl(log_path, missing_ok=True, appended=True)]
    done = {r["name"] for r in records if "name" in r}
    todo = [p for p in library.parents if p.full_name not in done]

    bad_headers: set[str] = set()

    def work(session, parent: LibraryTheorem) -> dict[str, Any]:
        try:
            parent, _, ctx = open_parent(session, parent, settings.tactic_timeout_s, bad_headers)
        except ValueError as exc:
            return {"name": parent.full_name, "error": " ".join(str(exc).split())[:300]}
        return {"name": parent.full_name, "statement": parent_statement(parent, ctx), "key": ctx.key()}

    if todo:
        bar = _progress(len(library.parents), len(done), "source statements")
        with JsonlAppender(log_path) as log, _each_parent(checker, workers, todo, work) as outcomes:
            for kind, value in outcomes:
                record = value if kind == "ok" else {"name": value[0].full_name, "error": value[1]}
                log.append(record)
                records.append(record)
                bar.update(1)
        bar.close()
    return {r["key"]: r["name"] for r in records if r.get("key")}


def mutate_library(
    library: MutationLibrary,
    checker: Checker,
    out: Path,
    limit: int | None = None,
    workers: int = 1,
    settings: MutationSettings | None = None,
    command: str = "",
    parents: Sequence[LibraryTheorem] | None = None,
) -> Funnel:
    """Mutate `parents` (default: the library's first `limit` parents; `select_parents`) into `out`;
    returns the funnel (also written beside it)."""
    settings = settings or MutationSettings()
    out.parent.mkdir(parents=True, exist_ok=True)
    parents_log = out.with_name(out.name + ".parents.jsonl")
    source_log = out.with_name(out.name + ".source.jsonl")
    source_keys = source_statements(library, checker, workers, source_log, settings)

    funnel = Funnel(settings.rules)
    done: set[str] = set()
    for _, record in read_jsonl(parents_log, missing_ok=True, appended=True):
        done.add(record["parent"])
        funnel.add_parent(record)
    dropped = keep_parents(out, done)
    kept: dict[str, str] = {}
    for _, r in read_records(out, missing_ok=True):
        kept[r.key] = r.name
    selected = list(parents) if parents is not None else (library.parents[:limit] if limit else library.parents)
    todo = [p for p in selected if p.full_name not in done]

    timeouts: Counter = Counter()  # shared by all workers: slow premises are skipped run-wide
    bad_headers: set[str] = set()

    def work(session, parent: LibraryTheorem):
        mutator = Mutator(session, library.index, settings, timeouts, bad_headers)
        return mutator.mutate(parent, library.corpus.accessible_mask(parent.path, parent.start))

    t0 = time.monotonic()
    new_verified = new_unique = finished = 0

    def write_funnel() -> None:
        minutes = (time.monotonic() - t0) / 60
        funnel.run = {
            "parents_this_run": finished,
            "workers": workers,
            "wall_minutes_this_run": round(minutes, 2),
            "verified_per_minute_this_run": round(new_verified / minutes, 1) if minutes > 0 and finished else 0.0,
            "unique_per_minute_this_run": round(new_unique / minutes, 1) if minutes > 0 and finished else 0.0,
            "source_theorems_keyed": len(source_keys),
            "mutants_dropped_on_resume": dropped,
            "max_attempts_per_rule": settings.max_attempts,
        }
        funnel.write(out.with_name(out.name + ".funnel.json"), out.with_name(out.name + ".funnel.md"), command)

    bar = _progress(len(selected), len(selected) - len(todo), "mutate")
    with JsonlAppender(out) as corpus_fh, JsonlAppender(parents_log) as log, \
            _each_parent(checker, workers, todo, work) as outcomes:
        for kind, value in outcomes:
            if kind == "error":
                parent, error = value
                record = {"parent": parent.full_name, "error": error, "counts": {}}
            else:
                outcome = value
                unique = {r: 0 for r in settings.rules}
                for m in outcome.mutants:
                    if m.key in kept or m.key in source_keys:
                        continue
                    kept[m.key] = m.name
                    unique[m.rule] += 1
                    corpus_fh.append(MutantRecord.of(
                        m, library.source(_path_of(library, m.parent)), _path_of(library, m.parent),
                        _end_of(library, m.parent), library.load_path,
                    ).to_json())
                counts = {}
                for rule, c in outcome.counts.items():
                    counts[rule] = dict(asdict(c), unique=unique.get(rule, 0))
                record = {
                    "parent": outcome.parent,
                    "statement": outcome.statement,
                    "error": outcome.error,
                    "seconds": round(outcome.seconds, 3),
                    "counts": counts,
                }
                new_verified += sum(c.verified for c in outcome.counts.values())
                new_unique += sum(unique.values())
            log.append(record)
            funnel.add_parent(record)
            bar.update(1)
            bar.set_postfix(verified=funnel.total()["verified"], unique=funnel.total()["unique"])
            finished += 1
            if finished % FUNNEL_EVERY == 0:
                write_funnel()  # a killed run still leaves a current funnel
    bar.close()
    write_funnel()
    return funnel


def _path_of(library: MutationLibrary, name: str) -> str:
    return library.corpus.by_name[name].path


def _end_of(library: MutationLibrary, name: str) -> tuple[int, int]:
    return library.corpus.by_name[name].end
