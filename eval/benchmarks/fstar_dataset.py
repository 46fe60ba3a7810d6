"""Loader for FStarDataSet (microsoft/FStarDataSet on Hugging Face; Chakraborty et al., "Towards Neural
Synthesis for SMT-Assisted Proof-Oriented Programming", ICSE 2025), from the user's disk.

Each problem is one top-level F* definition: write `source_definition` given
its type. `--data PATH` is a directory with the dataset's split files
(`train.json`, `valid.json`, `test_intra_project.json`,
`test_cross_project.json`; a JSON list or JSON Lines each; a single `test.json`
is split by `isa_cross_project_example`) or one such file, all of whose
records are taken as the split asked for. A record (fields this loader
reads; others are kept out of the way):

    file_name          the .fst/.fsti the definition is checked in (F* finds it on --include)
    name               fully qualified name, the `until-lid` of push-partial-checked-file
    original_source_type  the `val` it is checked against ("<UNK>" or "" when there is none)
    source_type        the type as shown in prompts
    source_definition  the reference definition (never shown to a prover)
    opens_and_abbrevs  [{"open": M} | {"abbrev": A, "full_module": M} | {"abbrev", "short_module", "full_module"}]
    vconfig            the solver options F* used for it (z3rlimit, fuel, ...) or null
    source             {"project_name", "file_name", "git_rev", "git_url"}
    interleaved, definition, mutual_with, ideal_premises, file_context, proof_features,
    is_proof, is_simple_lemma, isa_cross_project_example

A problem's header is the harness's scaffolding, rebuilt from these fields:
the opens and abbreviations (latest first), `open` of the definition's own
module, and `#push-options` with the definition's solver options; a
candidate is checked as header + `val` + candidate in the file's checked
prefix (checker.fstar.target). As the harness does, definitions copied from
an interface (`interleaved`), non-definitions (`definition` starting "<",
`source_definition` without "=") and `file_name` "dummy" are left out; so are
mutually recursive ones (`mutual_with` non-empty), whose reference defines
more than one name and which the guard refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from proofsmith.checker.types import Source, Theorem
from proofsmith.eval.benchmarks.problem import Benchmark, Problem
from proofsmith.formats.json_files import InputFileError, get_field, read_json, read_jsonl, require_file, string_list

SPLITS = ("test_intra_project", "test_cross_project", "valid", "train")
SOURCE_REPO = "huggingface.co/datasets/microsoft/FStarDataSet"

# vconfig keys that become solver options, as the harness turns them into `#push-options`.
_NUMERIC_OPTIONS = ("initial_fuel", "max_fuel", "initial_ifuel", "max_ifuel", "z3rlimit", "z3rlimit_factor", "z3seed")
_BOOLEAN_OPTIONS = {"smtencoding_elim_box": "smtencoding.elim_box", "smtencoding_valid_intro": "smtencoding.valid_intro",
                    "smtencoding_valid_elim": "smtencoding.valid_elim"}
_TEXT_OPTIONS = {"smtencoding_nl_arith_repr": "smtencoding.nl_arith_repr",
                 "smtencoding_l_arith_repr": "smtencoding.l_arith_repr"}


def solver_options(vconfig: dict[str, Any] | None) -> str:
    """The `#push-options` string for a definition's recorded solver configuration."""
    options: list[str] = []
    for key, value in (vconfig or {}).items():
        if key in ("z3cliopt", "z3smtopt"):
            for item in value or []:
                options += [f"--{key}", f"'{item}'"]
        elif key in _NUMERIC_OPTIONS:
            options += [f"--{key}", str(value)]
        elif key == "z3refresh":
            if value:
                options.append("--z3refresh")
        elif key in _BOOLEAN_OPTIONS:
            options += [f"--{_BOOLEAN_OPTIONS[key]}", "true" if value else "false"]
        elif key in _TEXT_OPTIONS:
            options += [f"--{_TEXT_OPTIONS[key]}", str(value)]
        # the rest (retry, detail_errors, quake_*, no_smt, reuse_hint_for, ...) the harness leaves out too
    return " ".join(options)


def scaffolding(file_name: str, opens: list[tuple[str, str | None]], vconfig: dict[str, Any] | None) -> str:
    """The text the harness puts before every candidate: opens and abbreviations, the module's own
    `open`, then the definition's solver options. `opens` holds (module, abbreviation or None)."""
    module = PurePosixPath(file_name).stem
    lines: list[str] = []
    if module.lower() != "prims":
        for full, abbrev in reversed(opens):
            lines.append(f"module {abbrev}={full}" if abbrev else f"open {full}")
        lines.append(f"open {module}")
    lines.append(f'#push-options "{solver_options(vconfig)}"')
    return "\n".join(lines) + "\n"


Where = int | str  # a JSON Lines line number, or "[i]" in a JSON list


def _field(record: dict[str, Any], name: str, kind: type, path: Path, where: Where, **options: Any) -> Any:
    if isinstance(where, int):
        return get_field(record, name, kind, path, where, **options)
    return get_field(record, name, kind, path, None, where=where, **options)


def _strings(record: dict[str, Any], name: str, path: Path, where: Where) -> list[str]:
    if isinstance(where, int):
        return string_list(record, name, path, where, optional=True)
    return string_list(record, name, path, None, optional=True, where=where)


def _error(path: Path, message: str, where: Where, field: str) -> InputFileError:
    if isinstance(where, int):
        return InputFileError(path, message, where, field)
    return InputFileError(path, message, None, f"{where}.{field}")


def _opens(record: dict[str, Any], path: Path, where: Where) -> list[tuple[str, str | None]]:
    items = _field(record, "opens_and_abbrevs", list, path, where)
    opens = []
    for i, item in enumerate(items):
        field = f"opens_and_abbrevs[{i}]"
        if not isinstance(item, dict):
            raise _error(path, "expected an object", where, field)
        if isinstance(item.get("open"), str):
            opens.append((item["open"], None))
            continue
        full = item.get("full_module")
        if not isinstance(full, str) or not full:
            raise _error(path, 'expected {"open": M} or {"abbrev": A, "full_module": M}', where, field)
        abbrev = item.get("short_module") if "short_module" in item else item.get("abbrev")
        if item.get("abbrev") and not (isinstance(abbrev, str) and abbrev):
            raise _error(path, "an abbreviation needs its short name (abbrev or short_module)", where, field)
        opens.append((full, abbrev if item.get("abbrev") else None))
    return opens


def skip_reason(record: dict[str, Any]) -> str | None:
    """Why the harness (or this checker) leaves a definition out, or None."""
    if record.get("interleaved"):
        return "interleaved (copied from the interface)"
    if str(record.get("definition", "")).startswith("<"):
        return "not a definition"
    if "=" not in record["source_definition"]:
        return "not a definition (type)"
    if record["file_name"] == "dummy":
        return "not a real definition"
    if record.get("mutual_with"):
        return "mutually recursive"
    return None


def _records(path: Path) -> Iterator[tuple[Where, dict[str, Any]]]:
    """(where, record) for a JSON list (where: "[index]") or JSON Lines (where: line number)."""
    require_file(path)
    with path.open("rb") as f:
        head = f.read(4096).lstrip()
    if not head.startswith(b"["):
        yield from read_jsonl(path)
        return
    for i, record in enumerate(read_json(path)):
        if not isinstance(record, dict):
            raise InputFileError(path, f"expected an object, got {type(record).__name__}", None, f"[{i}]")
        yield f"[{i}]", record


def _locate(root: Path, split: str) -> tuple[Path, bool | None]:
    """The file holding `split`, and which isa_cross_project_example value to keep (None: all)."""
    if root.is_file():
        return root, None
    if not root.is_dir():
        raise InputFileError(root, "no such file or directory")
    for suffix in (".json", ".jsonl"):
        if (root / f"{split}{suffix}").is_file():
            return root / f"{split}{suffix}", None
    if split.startswith("test_"):
        for suffix in (".json", ".jsonl"):
            if (root / f"test{suffix}").is_file():
                return root / f"test{suffix}", split == "test_cross_project"
    raise InputFileError(root / f"{split}.json", f"no file for split {split!r} ({split}.json or {split}.jsonl)")


def _problem(record: dict[str, Any], path: Path, where: Where, split: str) -> Problem | None:
    file_name = _field(record, "file_name", str, path, where, nonempty=True)
    name = _field(record, "name", str, path, where, nonempty=True)
    definition = _field(record, "source_definition", str, path, where)
    statement = _field(record, "original_source_type", str, path, where, optional=True)
    prompt_type = _field(record, "source_type", str, path, where, optional=True)
    if statement is None and prompt_type is None:
        raise _error(path, "missing (and no source_type either)", where, "original_source_type")
    statement = prompt_type if statement is None else statement
    opens = _opens(record, path, where)
    vconfig = _field(record, "vconfig", dict, path, where, optional=True)
    for key in ("interleaved", "is_proof", "is_simple_lemma", "isa_cross_project_example"):
        _field(record, key, bool, path, where, optional=True)
    mutual = _strings(record, "mutual_with", path, where)
    premises = _strings(record, "ideal_premises", path, where)
    context = _field(record, "file_context", str, path, where, optional=True)
    source = _field(record, "source", dict, path, where, optional=True) or {}
    for key in ("project_name", "file_name", "git_rev", "git_url"):
        if key in source and not isinstance(source[key], str):
            raise _error(path, "expected a string", where, f"source.{key}")
    if skip_reason({**record, "mutual_with": mutual}) is not None:
        return None
    if not file_name.endswith((".fst", ".fsti")):
        raise _error(path, f"expected an .fst or .fsti file, got {file_name!r}", where, "file_name")
    repo_path = source.get("file_name") or file_name
    if PurePosixPath(repo_path).name != PurePosixPath(file_name).name:
        repo_path = file_name  # the checker starts F* on the basename of this path
    statement = "" if statement.strip() == "<UNK>" else statement.strip()
    theorem = Theorem(
        name=name,
        statement=statement,
        header=scaffolding(file_name, opens, vconfig),
        backend="fstar",
        source=Source(source.get("git_url", ""), source.get("git_rev", ""), repo_path),
    )
    return Problem(
        theorem=theorem,
        split=split,
        category=source.get("project_name") or "unknown",
        extra={
            "file_name": file_name,
            "prompt_type": prompt_type,
            "reference": definition,
            "ideal_premises": premises,
            "file_context": context,
            "is_proof": record.get("is_proof"),
            "proof_features": record.get("proof_features"),
        },
    )


def load_fstar_dataset(root: Path, split: str) -> Benchmark:
    if split not in SPLITS:
        raise InputFileError(root, f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path, cross_project = _locate(root, split)
    problems: list[Problem] = []
    seen: dict[str, Where] = {}
    skipped = 0
    for where, record in _records(path):
        if cross_project is not None:
            flag = _field(record, "isa_cross_project_example", bool, path, where)
            if flag != cross_project:
                continue
        problem = _problem(record, path, where, split)
        if problem is None:
            skipped += 1
            continue
        if problem.name in seen:
            raise _error(path, f"duplicate name {problem.name!r} (first at {seen[problem.name]})", where, "name")
        seen[problem.name] = where
        problems.append(problem)
    if not problems:
        raise InputFileError(path, f"no checkable definitions in split {split!r} ({skipped} left out)")
    return Benchmark("fstar-dataset", split, "fstar", SOURCE_REPO, "local copy", str(path), tuple(problems))
