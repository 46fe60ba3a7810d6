"""Tracing whole libraries: files in parallel, one Coq process each, resumable.

Each finished file is appended to `traced_files.jsonl` and flushed, so a run
that is killed loses only the files in flight; the next run skips files
already traced (same path, same content, and the same content of every file
it imports, transitively) and traces the rest. A file that
fails is a record like any other (its failures say why), never the end of the
run. When every file is traced, the benchmark directory is (re)written from
the records.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from proofsmith.checker.coq.library import compile_library, coq_version
from proofsmith.checker.parallel import parallel_map
from proofsmith.checker.settings import CheckerSettings
from proofsmith.data_synth.trace import benchmark
from proofsmith.data_synth.trace.file_tracer import FileTracer, TraceOptions
from proofsmith.data_synth.trace.libraries import CoqLibrary, LibraryFile
from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.json_files import JsonlAppender, get_field, read_jsonl

log = logging.getLogger(__name__)

RECORDS = "traced_files.jsonl"
BUILD = "build"


@dataclass(frozen=True)
class TraceRun:
    stats: dict[str, Any]
    traced_now: int
    reused: int
    wall_s: float


def read_records(path: Path) -> dict[str, dict]:
    """Per-file records already written, the last one per path winning.

    A torn last line (a kill mid-write) is dropped; any other bad line is an InputFileError naming it.
    """
    records: dict[str, dict] = {}
    for line, record in read_jsonl(path, missing_ok=True, appended=True):
        records[get_field(record, "path", str, path, line)] = record
    return records


def _sha256(file: LibraryFile) -> str:
    text = file.source.read_text(encoding="utf-8", errors="replace")
    return hashlib.sha256(text.encode()).hexdigest()


def library_load_path(
    libraries: list[CoqLibrary], out_dir: Path, dependencies: LoadPath = LoadPath()
) -> tuple[LoadPath, dict[str, str]]:
    """The load path that makes every library loadable, compiling folders that lack their .vo files.

    `dependencies` is what the libraries need besides each other (libraries
    that are not traced). Returns the libraries' own bindings and, per relative
    .v path that did not compile, coqc's message.
    """
    load_path = LoadPath()
    failures: dict[str, str] = {}
    for lib in libraries:
        if lib.logical == "Coq" and lib.installed:
            continue  # Coq binds its own library with -R already
        if lib.compiled_in_place():  # installed ones too: -R lets files require siblings by short name
            load_path = load_path.merged(LoadPath.of("-R", lib.root, lib.logical))
            continue
        built = compile_library(
            lib.root, lib.logical, out_dir / BUILD / lib.logical, extra_args=dependencies.merged(load_path).coq_args()
        )
        load_path = load_path.merged(LoadPath.from_coq_args(built.loadpath))
        failures.update({f"{lib.root.name}/{rel}": msg for rel, msg in built.failures.items()})
    return load_path, failures


def files_to_trace(
    files: list[LibraryFile], records: dict[str, dict], shas: dict[str, str], coq: str, retry_failed: bool = False
) -> list[LibraryFile]:
    """The files whose record cannot be reused.

    A record is reused only when its file's text is unchanged, and so is the
    text of every traced file it imports, transitively (their .vo files are
    compiled from that text): a record stores the hash of each import it was
    traced against, and an import whose own record is stale makes its
    importers stale too. Records from another Coq version, or written before
    imports were hashed, are not reused. With `retry_failed`, files that
    failed or were traced only in part are traced again as well.
    """
    changed: dict[str, bool] = {}

    def is_changed(path: str, visiting: frozenset[str]) -> bool:
        if path not in changed:
            record = records.get(path)
            if record is None or record.get("sha256") != shas.get(path) or record.get("coq_version") != coq:
                changed[path] = True
            elif not isinstance(record.get("import_sha256"), dict):
                changed[path] = True
            else:
                hashes = record["import_sha256"]
                changed[path] = any(
                    hashes.get(imp) != shas[imp] or (imp not in visiting and is_changed(imp, visiting | {path}))
                    for imp in record.get("imports", [])
                    if imp in shas  # a file not traced in this run is not judged
                )
        return changed[path]

    return [
        f
        for f in files
        if is_changed(f.path, frozenset())
        or (retry_failed and records[f.path].get("status") in ("failed", "partial"))
    ]


def _failed_record(file: LibraryFile, reason: str, message: str) -> dict[str, Any]:
    return {
        "path": file.path, "module": file.module, "library": file.library.name, "sha256": _sha256(file),
        "status": "failed", "imports": [], "premises": [], "theorems": [],
        "failures": [{"reason": reason, "message": message[:2000]}], "counts": {}, "time_s": 0.0,
    }


def trace(
    libraries: list[CoqLibrary],
    out_dir: Path,
    settings: CheckerSettings | None = None,
    workers: int | None = None,
    options: TraceOptions | None = None,
    retry_failed: bool = False,
    eval_fraction: float = 0.05,
    progress: bool = True,
) -> TraceRun:
    t0 = time.monotonic()
    settings = settings or CheckerSettings()
    workers = workers or settings.workers
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [f for lib in libraries for f in lib.files()]
    modules = {f.module: f.path for f in files}
    dependencies = LoadPath.from_coq_args(settings.coq_args, where="coq_args")
    own_load_path, compile_failures = library_load_path(libraries, out_dir, dependencies)
    coq_args = own_load_path.coq_args()  # the settings add the dependencies themselves

    records_path = out_dir / RECORDS
    previous = read_records(records_path)
    current = {f.path for f in files}
    records = {p: r for p, r in previous.items() if p in current}
    shas = {f.path: _sha256(f) for f in files}
    version = coq_version()
    todo = files_to_trace(files, records, shas, version, retry_failed)
    reused = len(files) - len(todo)
    todo.sort(key=lambda f: f.source.stat().st_size, reverse=True)  # longest first: fewer stragglers at the end

    stop = threading.Event()

    def trace_one(_, file: LibraryFile) -> dict[str, Any]:
        # A file that did not compile is replayed all the same: Coq reports where it breaks.
        try:
            return FileTracer(file, settings, coq_args, modules, options, stop).run()
        except Exception as exc:  # one file must never end the run
            log.exception("tracing %s failed", file.path)
            return _failed_record(file, "internal", f"{type(exc).__name__}: {exc}")

    bar = tqdm(total=len(files), initial=reused, unit="file", desc="trace", disable=not progress, dynamic_ncols=True)
    tactics = sum(len(t["traced_tactics"]) for r in records.values() for t in r["theorems"])
    # On Ctrl-C or an error the map sets `stop`: running tracers end at their next sentence, and
    # their (interrupted) records are not delivered.
    try:
        with JsonlAppender(records_path) as fh, \
                closing(parallel_map(trace_one, todo, max(1, workers), stop=stop, name="trace-worker")) as traced:
            for record in traced:
                record["import_sha256"] = {p: shas[p] for p in record["imports"] if p in shas}
                record["coq_version"] = version
                fh.append(record)
                records[record["path"]] = record
                tactics += sum(len(t["traced_tactics"]) for t in record["theorems"])
                bar.set_postfix(tactics=tactics, last=record["path"][-40:], refresh=False)
                bar.update(1)
    finally:
        bar.close()
    wall = time.monotonic() - t0
    ordered = [records[f.path] for f in files if f.path in records]
    stats = benchmark.export(
        out_dir,
        ordered,
        libraries,
        eval_fraction=eval_fraction,
        extra_stats={"wall_s_this_run": round(wall, 1), "files_not_compiled": sorted(compile_failures)},
        load_path=dependencies.merged(own_load_path),
    )
    return TraceRun(stats=stats, traced_now=len(todo), reused=reused, wall_s=wall)
