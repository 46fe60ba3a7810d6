"""The results file of a run (results.jsonl): one `RunRecord` per finished problem, appended and flushed.

A run killed at any point (even with SIGKILL in the middle of a write) leaves
a file whose complete lines are complete results; opening it drops a torn last
line (formats.json_files), so a resumed run redoes exactly that theorem and
nothing else. An exclusive lock on the file keeps two runs from writing into
it at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from proofsmith.formats.json_files import FileInUseError, InputFileError, JsonlAppender, read_jsonl


class ResultsFileError(ValueError):
    """The results file is corrupt beyond a torn last line, or already in use."""


class RunContext(TypedDict, total=False):
    """What a run copies into every one of its records (eval: the benchmark; iterate: the round and pool)."""

    benchmark: str
    benchmark_source: dict[str, str]  # repo, commit
    budget: dict[str, float]  # wall_s, attempts, tactic_timeout_s
    seed: int
    round: int
    pool: str  # "dataset" or "conjectures"


class RunRecord(RunContext):
    """One line of results.jsonl, as `eval.evaluator.ProblemEvaluator.evaluate` writes it."""

    name: str  # the problem; unique in the file
    split: str
    category: str
    # a theorem in context (coq-library): project, file, line of the statement, and `loads`, the modules the
    # checker Required right after the statement (--decision-procedures; checker.types.Place)
    place: NotRequired[dict[str, Any]]
    # --decision-procedures: loaded (procedure names), modules, refused ({procedure: reason}), decisions
    # (prover.decision_procedures.ProcedureLoading.record)
    decision_procedures: NotRequired[dict[str, Any]]
    prover: str
    model: str | None
    usable: bool  # False: the statement could not be opened (the reason says why)
    verdict: str  # a checker.types.Verdict value
    reason: str
    proof: str | None
    axioms: list[str]
    time_s: float
    attempts: int
    successes: int
    attempt_verdicts: NotRequired[list[str]]  # these three only where the prover ran
    timings: NotRequired[dict[str, float]]
    prover_extra: NotRequired[dict[str, Any]]
    checker: dict[str, Any] | None  # which checker judged it (checker.types.CheckerInfo)
    finished_at: NotRequired[float]  # Unix time; set by the loop that appends the record


def _read(path: Path) -> list[RunRecord]:
    records: list[RunRecord] = []
    seen: dict[str, int] = {}
    try:
        for lineno, record in read_jsonl(path, missing_ok=True, appended=True):
            name = record.get("name")
            if not isinstance(name, str):
                raise ResultsFileError(f"{path}:{lineno}: not a result record (no 'name')")
            if name in seen:
                raise ResultsFileError(f"{path}:{lineno}: duplicate result for {name!r} (first on line {seen[name]})")
            seen[name] = lineno
            records.append(cast(RunRecord, record))  # written by the typed producer (eval.evaluator)
    except InputFileError as exc:
        raise ResultsFileError(f"{exc}; fix or remove that line") from None
    return records


class ResultsFile:
    def __init__(self, path: Path):
        self.path = path
        self._appender: JsonlAppender | None = None

    def open(self) -> list[RunRecord]:
        """Lock the file, repair a torn last line, return the records already in it."""
        appender = JsonlAppender(self.path, exclusive=True)
        try:
            appender.open()
        except FileInUseError:
            raise ResultsFileError(f"{self.path}: another proofsmith eval is writing to this run") from None
        self._appender = appender
        try:
            return _read(self.path)
        except BaseException:
            self.close()
            raise

    def append(self, record: RunRecord) -> None:
        if self._appender is None:
            raise ResultsFileError(f"{self.path}: append before open")
        self._appender.append(record)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()
            self._appender = None

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_results(path: Path) -> list[RunRecord]:
    """The complete records of a results file, read-only (a torn last line is ignored)."""
    if not path.is_file():
        raise ResultsFileError(f"{path}: no such results file")
    return _read(path)
