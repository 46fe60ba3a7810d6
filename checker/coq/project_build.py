"""A user's Coq project as the checker needs it: every `.vo` the files in use require.

Replaying a file of a project (a theorem in context, `suggest --file`) or a
header that requires a project's module needs the `.vo` files of what it
requires. A project as users have it is often not built, or built by an
older edit. `prepare_project` finds what the files in use need (`coqdep`,
transitively, inside the project's `-Q`/`-R` folders), and when some `.vo`
is missing or older than its source, builds it into a cache folder, never
into the user's tree: the folder mirrors the project's sources (copied only
when their bytes changed, so a rebuild follows the sources), carries a
`_CoqProject` with the same bindings, and is compiled in dependency order;
the caller then uses that folder as the project. A file that does not
compile is recorded with coqc's message, and what requires it is not
compiled. `missing_libraries` says, without building, which `.vo` files are
missing (`--no-build`).

    prepared = prepare_project("P", files=["theories/B.v"], on_file=print)
    prepared.folder     # P itself when nothing was missing, else the cache copy
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shlex
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from proofsmith.checker import child_process
from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.coq.library import coq_version
from proofsmith.formats.coq_load_path import PROJECT_FILE, Binding, LoadPath, LoadPathError

BUILD_FOLDER = "build"  # under proofsmith's cache folder
_HEADER_FILE = "proofsmith_header_{}.v"  # a header written out for coqdep, in the cache folder
_COQDEP_RULE = re.compile(r"^(\S+)\.vo\b[^:]*:\s*(.*)$")


class ProjectBuildError(ValueError):
    """A project that cannot be prepared (no _CoqProject, coqdep refuses it); the message names it."""


@dataclass(frozen=True)
class MissingLibrary:
    """A `.vo` the files in use need that the user's tree lacks (or that is older than its source)."""

    vo: Path
    needed_by: str  # the file (or "the header") that requires it, transitively
    project: Path

    def command(self) -> str:
        """The command that builds it in the user's tree (what coq_makefile projects do)."""
        target = self.vo.relative_to(self.project)
        return (f"cd {shlex.quote(str(self.project))} && coq_makefile -f {PROJECT_FILE} -o CoqMakefile && "
                f"make -f CoqMakefile {shlex.quote(str(target))}")

    def describe(self) -> str:
        return (f"{self.vo} is missing or older than its source (needed by {self.needed_by}); "
                f"build it with: {self.command()}")


@dataclass(frozen=True)
class PreparedProject:
    """The folder to use as the project, and what was built for it."""

    source: Path  # the user's project folder
    folder: Path  # `source` when it had every .vo needed, else the cache copy holding them
    compiled: tuple[str, ...] = ()  # files compiled this time (relative to the project)
    failures: dict[str, str] = field(default_factory=dict)  # file -> coqc's message (its last lines)
    needed: tuple[str, ...] = ()  # the project's files the files in use require, in build order

    @property
    def built(self) -> bool:
        return self.folder != self.source


def _run(argv: list[str], cwd: Path, timeout_s: float):
    try:
        return child_process.run(argv, text=True, timeout_s=timeout_s, cwd=cwd)
    except FileNotFoundError:
        raise CheckerUnavailable(f"{argv[0]} not found on PATH: install Coq 8.16 (Debian: apt-get install coq)") from None


def project_folder(project: str | Path) -> Path:
    """The folder holding the project's _CoqProject (`project` is that folder or the file itself)."""
    path = Path(project).expanduser().resolve()
    folder = path.parent if path.is_file() else path
    if not (folder / PROJECT_FILE).is_file():
        raise ProjectBuildError(f"{project}: no {PROJECT_FILE} there")
    return folder


def _load_path(folder: Path) -> LoadPath:
    try:
        return LoadPath.from_project(folder)
    except LoadPathError as exc:
        raise ProjectBuildError(str(exc)) from None


def _inside(folder: Path, load_path: LoadPath) -> list[Binding]:
    """The -Q/-R bindings whose folders are the project's own (inside its folder)."""
    return [b for b in load_path.bindings if b.logical and Path(b.directory).is_relative_to(folder)]


def _sources(folder: Path, bindings: Sequence[Binding]) -> list[str]:
    """Every .v file under the project's own bindings, relative to the project folder."""
    found: set[str] = set()
    for binding in bindings:
        found.update(str(p.relative_to(folder)) for p in Path(binding.directory).rglob("*.v") if p.is_file())
    return sorted(found)


def _relative_args(folder: Path, load_path: LoadPath) -> list[str]:
    """The load path with the project's own folders relative to it (so it holds for the cache copy too)."""
    args: list[str] = []
    for b in load_path.bindings:
        directory = Path(b.directory)
        shown = str(directory.relative_to(folder)) if directory.is_relative_to(folder) else str(directory)
        args += [b.flag, shown or "."] + ([b.logical] if b.flag != "-I" else [])
    return args + list(load_path.extra_args)


def dependency_graph(folder: Path, load_path: LoadPath, files: Sequence[str]) -> dict[str, list[str]]:
    """file -> the project files it requires directly (relative .v paths), from coqdep run in `folder`."""
    if not files:
        return {}
    done = _run(["coqdep", *_relative_args(folder, load_path), *files], cwd=folder, timeout_s=600)
    if done.returncode != 0 and not done.stdout:
        raise ProjectBuildError(f"coqdep on {folder}: {(done.stderr or '').strip()[-500:]}")
    graph: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        match = _COQDEP_RULE.match(line.strip())
        if match is None:
            continue
        deps = [d[: -len(".vo")] + ".v" for d in match.group(2).split() if d.endswith(".vo")]
        graph[match.group(1) + ".v"] = [d for d in deps if not Path(d).is_absolute()]
    return graph


def _closure(graph: dict[str, list[str]], roots: Iterable[str]) -> list[str]:
    """The roots and every file they require, transitively, dependencies first."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(file: str) -> None:
        if file in seen:
            return
        seen.add(file)
        for dep in graph.get(file, []):
            visit(dep)
        order.append(file)

    for root in roots:
        visit(root)
    return order


def _needed(graph: dict[str, list[str]], targets: Sequence[str]) -> list[str]:
    """What the targets require, transitively, dependencies first; a target only where another requires it."""
    order = _closure(graph, targets)
    required = {dep for file in order for dep in graph.get(file, [])}
    return [f for f in order if f in required]


def _stale(folder: Path, file: str, graph: dict[str, list[str]]) -> bool:
    """Whether `file`'s .vo is missing, older than the source, or older than a dependency's .vo."""
    source = folder / file
    vo = source.with_suffix(".vo")
    if not vo.is_file() or vo.stat().st_mtime < source.stat().st_mtime:
        return True
    return any((folder / d).with_suffix(".vo").is_file() and (folder / d).with_suffix(".vo").stat().st_mtime
               > vo.stat().st_mtime for d in graph.get(file, []))


def _header_files(folder: Path, headers: Sequence[str]) -> list[str]:
    """Headers written as files in `folder`, so coqdep reads what they require."""
    names = []
    for header in dict.fromkeys(h for h in headers if h.strip()):
        name = _HEADER_FILE.format(hashlib.sha256(header.encode()).hexdigest()[:12])
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != header:
            path.write_text(header, encoding="utf-8")
        names.append(name)
    return names


def _plan(folder: Path, files: Sequence[str] | None, headers: Sequence[str], scratch: Path):
    """(load path, graph, the files needed in build order, who needs each)."""
    load_path = _load_path(folder)
    sources = _sources(folder, _inside(folder, load_path))
    every_file = files is None and not headers
    if every_file:
        targets = list(sources)
    elif files is None:
        targets = []
    else:
        targets = []
        for file in files:
            path = (folder / file).resolve()
            if not path.is_file():
                raise ProjectBuildError(f"{file}: no such file in project {folder}")
            targets.append(str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path))
    scratch.mkdir(parents=True, exist_ok=True)
    header_names = [str((scratch / n).relative_to(folder)) if (scratch / n).is_relative_to(folder) else str(scratch / n)
                    for n in _header_files(scratch, headers)]
    graph = dependency_graph(folder, load_path, sorted(set(sources) | set(targets) | set(header_names)))
    wanted = targets + header_names
    if every_file:
        needed = [f for f in _closure(graph, sources) if f in sources]
    else:
        needed = [f for f in _needed(graph, wanted) if f in sources]
    needed_by: dict[str, str] = {}
    for target in wanted:
        for dep in _needed(graph, [target]):
            needed_by.setdefault(dep, "the header" if target in header_names else target)
    return load_path, graph, needed, needed_by


def missing_libraries(project: str | Path, files: Sequence[str] | None = None,
                      headers: Sequence[str] = ()) -> list[MissingLibrary]:
    """The .vo files of the user's tree that the files in use (None: every file) or the headers need
    and that are missing or stale, dependencies first."""
    folder = project_folder(project)
    scratch = _cache_folder(folder) / "headers"
    _, graph, needed, needed_by = _plan(folder, files, headers, scratch)
    return [MissingLibrary((folder / f).with_suffix(".vo"), needed_by.get(f, f), folder)
            for f in needed if _stale(folder, f, graph)]


def _cache_folder(folder: Path, cache_root: Path | None = None) -> Path:
    if cache_root is None:
        from proofsmith.checker.settings import CheckerSettings

        root = CheckerSettings().cache_dir
        cache_root = (root if root is not None else Path.home() / ".cache" / "proofsmith") / BUILD_FOLDER
    key = hashlib.sha256(f"{folder}\0{coq_version()}".encode()).hexdigest()[:12]
    return cache_root / f"{folder.name}-{key}"


def prepare_project(
    project: str | Path,
    files: Sequence[str] | None = None,
    headers: Sequence[str] = (),
    cache_root: Path | None = None,
    on_file: Callable[[int, int, str], None] | None = None,
    timeout_s: float = 1800.0,
) -> PreparedProject:
    """The project ready for the files in use (None: every file of the project) and the headers.

    When the user's tree has every .vo they need, up to date, the project is used as it is.
    Otherwise the project is built into its cache folder (`cache_root`, default proofsmith's
    cache folder / build), which is then the folder to use; `on_file(index, total, file)` is called
    before each file is compiled. Concurrent builds of one project wait for each other.
    """
    folder = project_folder(project)
    cache = _cache_folder(folder, cache_root)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_path, graph, needed, _ = _plan(folder, files, headers, cache / "headers")
        if not any(_stale(folder, f, graph) for f in needed):
            return PreparedProject(folder, folder, needed=tuple(needed))
        _mirror(folder, cache, load_path)
        compiled: list[str] = []
        failures: dict[str, str] = {}
        args = _relative_args(folder, load_path)
        todo = [f for f in needed if _stale(cache, f, graph)]
        for file in needed:
            if any(dep in failures for dep in graph.get(file, [])):
                failures[file] = f"not compiled: it requires {next(d for d in graph[file] if d in failures)}, " \
                                 "which does not compile"
                continue
            if not _stale(cache, file, graph):
                continue
            if on_file is not None:
                on_file(len(compiled) + len(failures), len(todo), file)
            done = _run(["coqc", "-q", *args, file], timeout_s=timeout_s, cwd=cache)
            if done.returncode != 0:
                failures[file] = (done.stderr or done.stdout).strip()[-2000:] or f"coqc exited with {done.returncode}"
                (cache / file).with_suffix(".vo").unlink(missing_ok=True)
            else:
                compiled.append(file)
        return PreparedProject(folder, cache, tuple(compiled), failures, tuple(needed))


def _mirror(folder: Path, cache: Path, load_path: LoadPath) -> None:
    """Copy the project's sources (those whose bytes changed) and its _CoqProject into `cache`."""
    for file in _sources(folder, _inside(folder, load_path)):
        source, target = folder / file, cache / file
        data = source.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.with_suffix(".vo").unlink(missing_ok=True)
    project_file = cache / PROJECT_FILE
    text = _project_text(folder, load_path)
    if not project_file.is_file() or project_file.read_text(encoding="utf-8") != text:
        project_file.write_text(text, encoding="utf-8")
    for binding in _inside(folder, load_path):  # a bound folder with no .v file must exist too
        (cache / Path(binding.directory).relative_to(folder)).mkdir(parents=True, exist_ok=True)


def _project_text(folder: Path, load_path: LoadPath) -> str:
    """The copy's _CoqProject: the same bindings (the project's own folders relative), the same flags."""
    lines = []
    for b in load_path.bindings:
        directory = Path(b.directory)
        shown = str(directory.relative_to(folder)) if directory.is_relative_to(folder) else str(directory)
        lines.append(" ".join(shlex.quote(w) for w in [b.flag, shown or ".", *([b.logical] if b.flag != "-I" else [])]))
    lines += [f'-arg "{arg}"' for arg in load_path.extra_args]
    return "# written by proofsmith: a build copy of " + str(folder) + "\n" + "\n".join(lines) + "\n"


def remove_cache(project: str | Path, cache_root: Path | None = None) -> None:
    """Delete the project's build folder (the next prepare_project builds again)."""
    shutil.rmtree(_cache_folder(project_folder(project), cache_root), ignore_errors=True)
