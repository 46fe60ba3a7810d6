"""CoqDocument against real Coq: the name resolver shared by the tracer and the session, and the primitives."""

import pytest

from proofsmith.checker.coq.document import CoqDocument, CoqError
from proofsmith.checker.settings import CheckerSettings

pytestmark = pytest.mark.coq


@pytest.fixture(scope="module")
def doc():
    with CoqDocument(CheckerSettings()) as d:
        for sentence in ("Module M.", "Definition hidden_in_m := 3.", "Definition plus_n_O := 4.", "End M.",
                         "Section S.", "Variable v : nat."):
            assert d.add(sentence).ok, sentence
        yield d


def test_locate_resolves_a_name_as_a_term_would(doc):
    # `Locate` lists every object with that suffix, reachable or not; only the one the name means counts
    assert doc.locate("hidden_in_m") is None
    assert doc.locate("M.hidden_in_m") == ("Constant", "Top.M.hidden_in_m")
    assert doc.locate("plus_n_O") == ("Constant", "Coq.Init.Peano.plus_n_O")
    assert doc.locate("v") == ("Variable", "v")
    assert doc.locate("no_such_name") is None
    assert doc.locate("+") is None  # Coq refuses the query


def test_locate_asks_the_state_it_is_given(doc):
    before = doc.tip
    assert doc.add("Definition later := 1.").ok
    assert doc.locate("later") == ("Constant", "Top.S.later")
    assert doc.locate("later", at=before) is None


def test_about_gives_kind_name_type_and_opacity(doc):
    about = doc.about("plus_n_O")
    assert (about.kind, about.name, about.type, about.opaque) == (
        "Constant", "Coq.Init.Peano.plus_n_O", "forall n : nat, n = n + 0", True)
    assert doc.about("M") is None  # a module


def test_primitives_leave_observing_and_going_back_to_the_caller(doc):
    start = doc.tip
    doc.append("Lemma l : False.", 10)
    doc.append("exact I.", 10)  # added, not yet run
    with pytest.raises(CoqError, match="has type"):
        doc.goals(10)
    doc.edit_at(start)
    assert doc.tip == start
    failed = doc.add("exact I.")  # outside a proof: refused, and the document is back where it was
    assert not failed.ok and doc.tip == start
