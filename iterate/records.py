"""What each stage of a round writes, as typed records (one JSON line or file each).

Stage marks in round-R/state.json carry a stage's counts; the files carry
these records. Reading tolerates keys a newer version added (`extra="ignore"`),
so an older run still resumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.formats.json_files import JsonlAppender, read_jsonl, write_jsonl


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


R = TypeVar("R", bound=Record)


def read_records(path: Path, kind: type[R]) -> list[R]:
    """The complete records of a JSON Lines file (none when it does not exist; a torn last line dropped)."""
    return [kind.model_validate(row) for _, row in read_jsonl(path, missing_ok=True, appended=True)]


def write_records(path: Path, records: Iterable[Record]) -> None:
    write_jsonl(path, [r.model_dump() for r in records])


class RecordAppender:
    """Appends records to a JSON Lines file, each flushed (a killed stage resumes after its last line)."""

    def __init__(self, path: Path):
        self._appender = JsonlAppender(path)

    def __enter__(self) -> RecordAppender:
        self._appender.__enter__()
        return self

    def append(self, record: Record) -> None:
        self._appender.append(record.model_dump())

    def __exit__(self, *exc: object) -> None:
        self._appender.__exit__(*exc)


ConjectureSource = Literal["model", "symbolic"]
ConjectureStatus = Literal["ill-formed", "copy of seed", "duplicate", "new"]


class GeneratedConjecture(Record):
    """A conjecture as a conjecturer proposed it, with the seed it came from."""

    name: str
    round: int
    body: str
    raw: str  # the conjecturer's output (the model's text, or the operator that made it)
    source: ConjectureSource = "model"
    seed: str
    seed_statement: str
    seed_proof: str
    seed_key: str
    seed_rate: float
    header: str
    fallback_header: str = ""
    lemma: str | None = None
    lemma_statement: str | None = None


class Conjecture(GeneratedConjecture):
    """A generated conjecture after elaboration in its seed's environment, keyed and de-duplicated."""

    well_formed: bool
    key: str
    reason: str
    message: str
    statement: str
    status: ConjectureStatus
    duplicate_of: str | None = None


class KeptConjecture(Record):
    """A conjecture the STP selection keeps (it trains the conjecturer)."""

    name: str
    statement: str
    body: str
    header: str
    source: ConjectureSource = "model"
    seed: str
    seed_statement: str
    seed_proof: str
    lemma: str | None
    lemma_statement: str | None
    proof: str
    pass_rate: float


class TracedProof(Record):
    """A verified proof of the round, stepped through the checker: (state before, tactic) per step."""

    name: str
    pool: str  # the problem's split: library theorem, mutant or conjecture
    proof: str
    steps: list[tuple[str, str]]
    pass_rate: float


class TrainingRow(Record):
    kind: str  # prover-proof-step, prover-whole-proof, prover-human, conjecture-mutation, conjecture-kept
    prompt: str
    completion: str


class HeldoutCounts(Record):
    proved: int
    usable: int
    pass_rate: float | None
    selected: int
    data_sha256: str | None = None
    interval_95: tuple[float, float] | None = None  # Wilson score interval of proved / usable

    def cell(self) -> str:
        """proved/usable (rate) [interval], as the round and ablation tables print it."""
        ci = f" [{percent(self.interval_95[0])}, {percent(self.interval_95[1])}]" if self.interval_95 else ""
        return f"{self.proved}/{self.usable} ({percent(self.pass_rate)}){ci}"


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


class MetricsLine(Record):
    """One line of metrics.jsonl: a finished round."""

    round: int
    model: str
    attempted: int
    proved: int
    dataset_attempted: int
    dataset_proved: int
    conjectures_attempted: int
    conjectures_proved: int
    cumulative_attempted: int
    cumulative_proved: int
    # the pool alone (library theorems and mutants), so far: the STP / LeanWorkbook metric
    cumulative_dataset_attempted: int = 0
    cumulative_dataset_proved: int = 0
    new_proofs: int
    funnel: dict[str, int]
    heldout: dict[str, HeldoutCounts]
    train_loss: float | None = None
    train_first_loss: float | None = None
    train_last_loss: float | None = None
    train_examples: int | None = None
    train_seconds: float | None = None
    memory: dict[str, Any]
    seconds_this_run: float
    stage_finished_at: dict[str, float | None]


def iter_records(path: Path, kind: type[R]) -> Iterator[R]:
    for _, row in read_jsonl(path, missing_ok=True, appended=True):
        yield kind.model_validate(row)


# ------------------------------------------------------------------ stage marks (round-R/state.json)


class Mark(BaseModel):
    """A stage's counts in state.json; a stage whose counts do not fit its mark is a bug, refused at once."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StartedMark(Mark):
    pass


class ProvingMark(Mark):  # prove, prove_conjectures
    attempted: int
    proved: int


class ConjecturesMark(Mark):
    generated: int
    well_formed: int
    new: int
    new_by_source: dict[str, int] = {}
    by_source: dict[str, int] = {}


class TracedMark(Mark):
    proofs: int


class SelectMark(Mark):  # the funnel's counts
    generated: int
    well_formed: int
    new: int
    proved: int
    barely_provable: int
    kept: int


class MemoryMark(Mark):
    status: str
    from_: str | None = Field(default=None, alias="from")
    proofs_added: int | None = None
    steps_before: int | None = None
    steps_after: int | None = None


class ExamplesMark(Mark):
    examples: int
    sha256: str
    kinds: dict[str, int] = {}


class TrainMark(Mark):
    examples: int
    steps: int
    train_loss: float
    first_loss: float | None
    last_loss: float | None
    resumed_from: str | None
    seconds: float
    model: str
    base_model: str
    kinds: dict[str, int]


STAGE_MARKS: dict[str, type[Mark]] = {
    "started": StartedMark, "prove": ProvingMark, "conjectures": ConjecturesMark, "prove_conjectures": ProvingMark,
    "traced": TracedMark, "select": SelectMark, "memory": MemoryMark, "examples": ExamplesMark, "train": TrainMark,
}


def checked_mark(stage: str, info: dict[str, Any]) -> dict[str, Any]:
    """A stage's counts checked against its mark (held-out stages: one HeldoutCounts per set)."""
    if stage in ("heldout", "final"):
        return {label: HeldoutCounts.model_validate(counts).model_dump() for label, counts in info.items()}
    return STAGE_MARKS[stage].model_validate(info).model_dump(by_alias=True, exclude_none=True)
