"""The chronological protocol (Tactician's and CoqHammer's): a tactic memory of the whole traced library
in library order, where each target sees exactly the theorems before it and nothing after.

The library is tests/fixtures/tracelib, traced for real: files in import order Base < Mid < Other < Top
(Other is imported by nothing; corpus.jsonl puts it before Top), theorems by position in their file.
Its random split has Base.double_0 in test and Other.other_fact in val: their human proofs are part of
the library, so later targets see them.
"""

from __future__ import annotations

import json

import pytest

from proofsmith.checker.types import Theorem
from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
from proofsmith.prover.library_order import LibraryOrder
from proofsmith.prover.tactic_memory import TacticMemory, TacticMemoryError, memory_encoder

from .test_coq_library import traced_library  # noqa: F401  (the traced fixture library)

pytestmark = pytest.mark.coq

# The library order of the fixture's traced theorems, read off the .v files.
LIBRARY_ORDER = [
    "TraceLib.Base.double_0", "TraceLib.Base.double_S", "TraceLib.Base.Ops.twice_id",
    "TraceLib.Mid.scale_0", "TraceLib.Mid.MoreOps.twice_double", "TraceLib.Mid.double_plus",
    "TraceLib.Other.other_fact",
    "TraceLib.Top.double_pos", "TraceLib.Top.shades", "TraceLib.Top.split_both", "TraceLib.Top.later_fact",
]


@pytest.fixture(scope="module")
def chronological(traced_library, tmp_path_factory):  # noqa: F811
    _, trace = traced_library
    cache = tmp_path_factory.mktemp("memory_cache")
    return trace, TacticMemory.from_trace(trace, "random", encoder=memory_encoder(), cache_dir=cache,
                                          protocol="chronological"), cache


def _steps(trace, name):
    for part in ("train", "val", "test"):
        for theorem in json.loads((trace / "random" / f"{part}.json").read_text()):
            if theorem["full_name"] == name:
                return [(t["state_before"], t["tactic"]) for t in theorem["traced_tactics"]]
    raise KeyError(name)


def test_the_library_order_is_import_order_then_position(chronological):
    _, memory, _ = chronological
    assert list(memory.order.names) == LIBRARY_ORDER
    assert memory.theorems() == set(LIBRARY_ORDER)  # test and val human proofs included


@pytest.mark.parametrize("position", range(len(LIBRARY_ORDER)))
def test_each_target_sees_exactly_the_theorems_before_it(chronological, position):
    trace, memory, _ = chronological
    target = LIBRARY_ORDER[position]
    rows = memory.rows_before(target)
    assert memory.theorems(rows) == set(LIBRARY_ORDER[:position])
    # the target's own states and every later theorem's find only earlier theorems' steps
    for later in LIBRARY_ORDER[position:]:
        for state, _ in _steps(trace, later):
            hits = memory.nearest(state, len(memory), rows)
            assert {h.theorem for h in hits} <= set(LIBRARY_ORDER[:position])
            assert len(hits) == rows
            assert {p.theorem for p in memory.similar_proofs(state, 20, rows=rows)} <= set(LIBRARY_ORDER[:position])


def test_the_generator_narrows_to_each_target_and_never_learns(chronological):
    trace, memory, _ = chronological
    generator = TacticMemoryGenerator(memory)
    assert not generator.online
    state, _ = _steps(trace, "TraceLib.Top.later_fact")[0]
    with pytest.raises(TacticMemoryError, match="within a search"):
        generator.generate([state], 8)
    generator.start(Theorem("TraceLib.Base.double_0", "Lemma double_0 : double 0 = 0."))
    assert generator.generate([state], 8) == [[]]  # the first theorem of the library sees nothing
    generator.start(Theorem("TraceLib.Top.later_fact", "Lemma later_fact : double 1 = 2."))
    (candidates,) = generator.generate([state], 8)
    assert candidates  # Top.later_fact sees the ten theorems before it
    before = len(memory)
    generator.learn("TraceLib.Top.later_fact", [(state, "reflexivity.")])
    assert len(memory) == before
    with pytest.raises(TacticMemoryError, match="not a traced theorem"):
        generator.start(Theorem("Elsewhere.t", "Lemma t : True."))


def test_a_cached_chronological_memory_loads_with_its_order(chronological):
    trace, memory, cache = chronological
    again = TacticMemory.from_trace(trace, "random", encoder=memory_encoder(), cache_dir=cache, protocol="chronological")
    assert again.order == memory.order and len(again) == len(memory)
    assert all(again.rows_before(n) == memory.rows_before(n) for n in LIBRARY_ORDER)
    plain = TacticMemory.from_trace(trace, "random", encoder=memory_encoder(), cache_dir=cache)
    assert not plain.chronological and "TraceLib.Base.double_0" not in plain.theorems()  # a test theorem


def test_bad_protocols_and_places_are_named(chronological, tmp_path):
    trace, _, _ = chronological
    with pytest.raises(TacticMemoryError, match="unknown protocol 'bootstrap'"):
        TacticMemory.from_trace(trace, "random", protocol="bootstrap")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"path": "tracelib/Base.v", "imports": []}\n')
    from proofsmith.formats.leandojo import read_split
    from proofsmith.prover.library_order import LibraryOrderError

    with pytest.raises(LibraryOrderError, match="Top.double_pos: its file tracelib/Top.v is not in"):
        LibraryOrder.of(corpus, read_split(trace / "random" / "train.json"))


def test_eval_with_the_chronological_protocol_records_it_and_sees_only_the_past(traced_library, tmp_path, monkeypatch):  # noqa: F811
    from proofsmith.cli import main
    from proofsmith.prover import tactic_memory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _, trace = traced_library
    out = tmp_path / "run"
    argv = ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/test", "--prover",
            "memory-search", "--protocol", "chronological", "--workers", "1", "--budget-s", "10", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    options = dict(run["prover_options"]) if isinstance(run["prover_options"], list) else run["prover_options"]
    assert options["memory_protocol"] == "chronological"
    (memory,) = [m for key, m in tactic_memory._SHARED.items() if key[0] == str(trace.resolve()) and key[3] == "chronological"]
    assert memory.chronological and memory.rows_before("TraceLib.Base.double_0") == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["TraceLib.Base.double_0"]
