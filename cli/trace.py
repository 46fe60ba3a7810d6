"""`proofsmith trace`: replay Coq libraries and write a LeanDojo-style benchmark.

    proofsmith trace --library stdlib --out .cache/trace/stdlib
    proofsmith trace --library stdlib --library ./mylib --logical-path MyLib --out DIR

Writes DIR/corpus.jsonl, DIR/{random,novel_premises}/{train,val,test}.json,
DIR/stats.json and the per-file records DIR/traced_files.jsonl; rerunning
with the same DIR resumes (files already traced are not traced again).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proofsmith.cli import load_path_options
from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("trace", help="trace Coq libraries into a premise corpus and tactic-level proofs")
    p.add_argument(
        "--library", action="append", required=True, metavar="stdlib|mathcomp|PATH",
        help="a named library or a folder of .v files (repeatable)",
    )
    p.add_argument(
        "--logical-path", action="append", default=[], metavar="NAME",
        help="logical path of each PATH library, in order (default: the folder's name)",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory (resumed when it exists)")
    p.add_argument("--workers", type=int, default=None, help="Coq processes in parallel (default: cores)")
    p.add_argument("--sentence-timeout", type=float, default=300.0, help="seconds one sentence may take")
    p.add_argument("--file-timeout", type=float, default=3600.0, help="seconds one file may take")
    p.add_argument("--memory-mb", type=int, default=None, help="address-space cap per Coq process")
    p.add_argument("--eval-fraction", type=float, default=0.05, help="share of theorems in val and in test each")
    p.add_argument("--retry-failed", action="store_true", help="trace again the files that failed last time")
    p.add_argument("--limit", type=int, default=None, help="trace only the first N files of each library (a sample)")
    load_path_options.add_arguments(p, discover=False, what="libraries the traced ones require but are not traced",
                                    build=False)  # trace compiles what it traces itself
    p.set_defaults(func=run)


def run(args) -> int:
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.data_synth.trace.file_tracer import TraceOptions
    from proofsmith.data_synth.trace.libraries import LibraryError, resolve
    from proofsmith.data_synth.trace.runner import trace

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    if not 0 < args.eval_fraction < 0.5:
        raise UsageError(f"--eval-fraction {args.eval_fraction}: must be between 0 and 0.5")
    for name in ("workers", "limit", "memory_mb"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    specs, logical_paths, project_load_path = libraries_of_projects(args.library, args.logical_path)
    try:
        libraries = resolve(specs, logical_paths)
    except LibraryError as exc:
        raise UsageError(str(exc)) from None
    if args.limit is not None:
        libraries = [lib.sample(args.limit) for lib in libraries]
    overrides = {"memory_mb": args.memory_mb} if args.memory_mb else {}
    settings = CheckerSettings(**overrides).with_load_path(load_path_options.load_path_from(args).merged(project_load_path))
    result = trace(
        libraries,
        args.out,
        settings,
        workers=args.workers,
        options=TraceOptions(sentence_timeout_s=args.sentence_timeout, file_timeout_s=args.file_timeout),
        retry_failed=args.retry_failed,
        eval_fraction=args.eval_fraction,
    )
    s = result.stats
    summary = {
        "files": s["files"],
        "by_status": s["files_by_status"],
        "declarations": s["declarations"],
        "theorems_traced": s["theorems_traced"],
        "tactics": s["tactics"],
        "premises_per_tactic": s["premises_per_tactic"],
        "failures_by_reason": s["failures_by_reason"],
        "files_not_compiled": s["files_not_compiled"],
        "files_failed": s["files_failed"],
        "traced_now": result.traced_now,
        "reused": result.reused,
        "wall_s": round(result.wall_s, 1),
    }
    failed = _failed_files(args.out, s["files_failed"], s["files_not_compiled"])
    if failed:
        summary["why_files_failed"] = failed
    print(json.dumps(summary, indent=1), file=sys.stderr)
    print(f"wrote {args.out}/corpus.jsonl, {args.out}/{{random,novel_premises}}/*.json, {args.out}/stats.json", file=sys.stderr)
    if failed:
        print(f"proofsmith trace: {len(failed)} file(s) failed (why_files_failed above; --retry-failed traces them "
              "again); exit status 1", file=sys.stderr)
        return 1
    return 0


def libraries_of_projects(specs: list[str], logical_paths: list[str], say: bool = True):
    """A library folder holding a _CoqProject is its -Q/-R folders under their logical names (unless
    --logical-path names the folders itself): (library specs, logical paths, the project's other flags)."""
    from proofsmith.formats.coq_load_path import PROJECT_FILE, LoadPath, LoadPathError

    if logical_paths:
        return specs, logical_paths, LoadPath()
    out_specs: list[str] = []
    out_logical: list[str] = []
    extra = LoadPath()
    folders = [spec for spec in specs if spec not in ("stdlib", "mathcomp")]
    for spec in specs:
        project = Path(spec) / PROJECT_FILE
        if spec not in folders or not project.is_file():
            out_specs.append(spec)
            if spec in folders:
                out_logical.append(Path(spec).resolve().name)
            continue
        try:
            load_path = LoadPath.from_project(project)
        except LoadPathError as exc:
            raise UsageError(f"--library {spec}: {exc}") from None
        root = Path(spec).resolve()
        own = [b for b in load_path.bindings if b.logical and Path(b.directory).is_relative_to(root)
               and any(Path(b.directory).rglob("*.v"))]  # a bound folder with no source yet traces nothing
        if not own:
            raise UsageError(f"--library {spec}: its {PROJECT_FILE} binds no folder inside it with -Q/-R")
        for binding in own:
            out_specs.append(binding.directory)
            out_logical.append(binding.logical)
        others = LoadPath(tuple(b for b in load_path.bindings if b not in own), load_path.extra_args)
        extra = extra.merged(others)
        if say:
            print(f"proofsmith trace: {spec}: libraries from its {PROJECT_FILE}: "
                  + ", ".join(f"{b.directory} as {b.logical}" for b in own), file=sys.stderr)
    return out_specs, out_logical, extra


def _failed_files(out: Path, failed: list[str], not_compiled: list[str]) -> dict[str, str]:
    """Each file that failed or did not compile, with the first message Coq gave for it."""
    from proofsmith.data_synth.trace.runner import RECORDS, read_records

    names = list(dict.fromkeys([*not_compiled, *failed]))
    if not names:
        return {}
    records = read_records(out / RECORDS)
    why = {}
    for name in names:
        record = records.get(name) or next((r for path, r in records.items() if name.endswith(path)), None)
        failures = (record or {}).get("failures") or []
        first = failures[0] if failures else {}
        line = f"line {first['start'][0]}: " if isinstance(first.get("start"), list) and first["start"] else ""
        message = first.get("message", "")
        why[name] = line + load_path_options.one_line(message or "did not compile (no message recorded)", 300)
    return why
