"""The leak check for decision procedures loaded before a library theorem, on a real trace of the
fixture library (tests/fixtures/tracelib: Base <- Mid <- Top, and Other that nothing requires)."""

from __future__ import annotations

import pytest

from proofsmith.checker.types import Place
from proofsmith.prover.decision_procedures import PROCEDURES, DecisionProcedure, decide, leak_check
from proofsmith.prover.library_order import file_modules
from proofsmith.retrieval.corpus import Corpus

from .test_coq_library import traced_library  # noqa: F401  (the traced fixture library)

pytestmark = pytest.mark.coq

# A procedure whose library is the fixture's Mid.v (which requires Base.v).
NEEDS_MID = DecisionProcedure("mid-tactics", ("mid_tac.",), ("TraceLib.Mid",))


@pytest.fixture(scope="module")
def library(traced_library):  # noqa: F811
    _, trace = traced_library
    corpus = Corpus.load(trace / "corpus.jsonl")
    return corpus, file_modules(trace, corpus.files)


def test_the_files_modules_come_from_the_trace(library):
    _, modules = library
    assert modules["tracelib/Mid.v"] == "TraceLib.Mid" and modules["tracelib/Top.v"] == "TraceLib.Top"


@pytest.mark.parametrize("target", ["tracelib/Mid.v", "tracelib/Base.v"])
def test_a_procedure_whose_libraries_include_the_targets_file_is_refused(library, target):
    corpus, modules = library
    decision = leak_check(corpus, modules, target, NEEDS_MID)
    assert not decision.sound and decision.loaded == ()
    assert f"loads {target} itself" in decision.reason


def test_a_procedure_that_cannot_reach_the_target_is_loaded_and_says_what_it_brings(library):
    corpus, modules = library
    other = leak_check(corpus, modules, "tracelib/Other.v", NEEDS_MID)
    assert other.sound and other.loaded == ("tracelib/Base.v", "tracelib/Mid.v")
    top = leak_check(corpus, modules, "tracelib/Top.v", NEEDS_MID)  # Top imports Mid already: nothing new
    assert top.sound and top.loaded == ()
    loading = decide(corpus, modules, "tracelib/Other.v", [NEEDS_MID])
    assert Place("p", "tracelib/Other.v", loads=loading.modules).load_sentence == "Require Import TraceLib.Mid."


def test_unknown_libraries_and_outside_procedures_are_judged_conservatively(library):
    corpus, modules = library
    # the fixture trace has no stdlib files: Lia is Coq's own library, which cannot load a file of TraceLib
    lia = leak_check(corpus, modules, "tracelib/Top.v", PROCEDURES["lia"])
    assert lia.sound and "Coq.micromega.Lia: Coq's own library" in lia.reason
    # but a module of no library the trace holds, or a stdlib module for a target that is itself in Coq's
    # library (a partial stdlib trace), is unknown
    unknown = DecisionProcedure("unknown", ("u.",), ("Elsewhere.Tactics",))
    assert "not a file of the trace" in leak_check(corpus, modules, "tracelib/Top.v", unknown).reason
    as_stdlib = {path: "Coq." + module for path, module in modules.items()}
    partial = leak_check(corpus, as_stdlib, "tracelib/Top.v", PROCEDURES["lia"])
    assert not partial.sound and "Coq.micromega.Lia" in partial.reason and "not a file of the trace" in partial.reason
    assert leak_check(corpus, modules, "tracelib/Top.v", PROCEDURES["hammer"]).sound  # CoqHammer cannot rest on TraceLib
    stdlib_like = {path: "Coq." + module for path, module in modules.items()}
    refused = leak_check(corpus, stdlib_like, "tracelib/Top.v", PROCEDURES["hammer"])
    assert not refused.sound and "may rest on Coq" in refused.reason
    assert not leak_check(corpus, modules, "tracelib/Nowhere.v", NEEDS_MID).sound
