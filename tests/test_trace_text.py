"""Tracing's text-level pieces: premise candidates in tactics, declarations, splits (no Coq needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proofsmith.checker.coq.sentences import split_sentences
from proofsmith.data_synth.trace.splits import split_by_premise, split_randomly
from proofsmith.data_synth.trace.tactics import annotate, argument_names, normalize
from proofsmith.data_synth.trace.vernacular import Declaration, declaration, requirement


def names(tactic: str) -> list[str]:
    return [u.name for u in argument_names(normalize(tactic))]


def test_recursive_notation_dots_do_not_end_a_sentence():
    text = 'Notation "( x , y , .. , z )" := (pair .. (pair x y) .. z) : core_scope. exact I.'
    assert [s.text for s in split_sentences(text)] == [text[: text.index(" exact")], "exact I."]


def test_tactic_names_are_not_premise_candidates_but_their_arguments_are():
    assert names("f_equal.") == []  # a tactic that is also a constant
    assert names("apply f_equal; (rewrite Nat.add_comm; auto).") == ["f_equal", "Nat.add_comm"]
    assert names("all: try apply (le_trans _ _ _ H).") == ["le_trans", "H"]
    assert names("rewrite <- (IHn m%nat), ?plus_n_O.") == ["IHn", "m", "plus_n_O"]
    assert names("do 2 (absurd False).") == ["False"]
    assert names("by rewrite addnC.") == ["addnC"]
    assert names("exact @foo (* comment *).") == ["foo"]
    assert names("induction n using nat_ind2.") == ["n", "nat_ind2"]


def test_normalize_and_annotate():
    tactic = normalize('idtac "a  b" (* c *) ;\n  rewrite   Nat.add_comm.')
    assert tactic == 'idtac "a  b" ; rewrite Nat.add_comm.'
    assert annotate(tactic, argument_names(tactic)) == 'idtac "a  b" ; rewrite <a>Nat.add_comm</a>.'


def test_declarations_and_requires():
    assert declaration("#[global] Instance recursion_wd {A} : Proper (eq==>eq) S.") == Declaration("Instance", "recursion_wd")
    assert declaration("Global Program Instance : C.").name is None
    assert declaration("Add Parametric Morphism : f with signature eq ==> eq as f_morph.").name == "f_morph"
    assert declaration("Local Definition x := 1.") == Declaration("Definition", "x")
    assert declaration("Set Implicit Arguments.") is None
    req = requirement("From Coq Require Import (notations) Lia Arith.PeanoNat.")
    assert req.prefix == "Coq" and req.names == ("Lia", "Arith.PeanoNat")
    assert req.matches("Lia", "Coq.micromega.Lia") and not req.matches("Lia", "Other.Lia")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=4), min_size=3, max_size=60), st.integers(1, 5))
def test_novel_premises_split_holds_out_a_premise_for_every_eval_theorem(uses, size):
    items = list(range(len(uses)))
    parts = split_by_premise(items, lambda i: uses[i], size, size)
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == items
    in_train = {p for i in parts["train"] for p in uses[i]}
    for i in parts["val"] + parts["test"]:
        assert set(uses[i]) - in_train
    random_parts = split_randomly(items, size, size)
    assert sorted(sum(random_parts.values(), [])) == items
    assert len(random_parts["val"]) == min(size, len(items))
    assert not set(random_parts["train"]) & set(random_parts["val"] + random_parts["test"])
