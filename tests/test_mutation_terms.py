"""The text side of mutation: term structure, alpha-keys, premise shapes and the pre-filter."""

import numpy as np

from proofsmith.data_synth.coq_terms import constants, declaration_type, sides
from proofsmith.data_synth.premise_index import PremiseIndex, is_theorem_kind, patterns_of, premise_shape
from proofsmith.formats.statement_key import alpha_key, statement_key, telescope, tokenize
from proofsmith.retrieval.corpus import Corpus


def test_printed_type_telescope_and_sides():
    tokens = declaration_type("Nat.add_sub_assoc : forall n m p : nat, p <= m -> n + (m - p) = n + m - p")
    binders, conclusion = telescope(tokens)
    assert [b.name for b in binders] == ["n", "m", "p", None]
    assert binders[3].type == ("p", "<=", "m")
    found = sides(conclusion)
    assert found is not None
    kind, lhs, rhs = found
    assert kind == "eq" and lhs == ["n", "+", "(", "m", "-", "p", ")"] and rhs == ["n", "+", "m", "-", "p"]


def test_source_declaration_binders_become_foralls():
    code = "Lemma max_l n m : m <= n -> Nat.max n m = n.\nProof. intros. Qed."
    binders, conclusion = telescope(declaration_type(code))
    assert [b.name for b in binders] == ["n", "m", None]
    assert conclusion == ["Nat.max", "n", "m", "=", "n"]


def test_iff_and_looser_connectives():
    assert sides(tokenize("(x <= y)%Z <-> (x < y + 1)%Z"))[0] == "iff"
    assert sides(tokenize("a = b /\\ b = a")) is None  # /\ binds looser than =
    assert sides(tokenize("~ x < x")) is None
    assert sides(tokenize("f = fun x => x + 0"))[0] == "eq"


def test_constants_drop_bound_names_and_qualifiers():
    tokens = tokenize("forall l : list A, Coq.Lists.List.rev (l ++ []) = rev l")
    binders, conclusion = telescope(tokens)
    found = constants(conclusion, {b.name for b in binders})
    assert found == {"rev", "++", "nil"}
    assert constants(tokenize("exists k, n = k + k"), {"n"}) == {"+"}


def test_alpha_key_ignores_bound_names_spacing_and_arrow_form():
    a = alpha_key(tokenize("forall (x y : nat) (H : x <= y), x + 0 <= y"))
    b = alpha_key(tokenize("forall a b : nat,   a <= b -> a + 0 <= b"))
    c = alpha_key(tokenize("forall a b : nat, a <= b -> b + 0 <= a"))
    assert a == b
    assert a != c
    inner1 = alpha_key(tokenize("forall n : nat, exists k, n = k + k"))
    inner2 = alpha_key(tokenize("forall m : nat, exists j, m = j + j"))
    assert inner1 == inner2
    # the key of a statement's text, as Coq prints it (line breaks) or as it is written
    assert statement_key("forall m : nat,\nm + 0 = m") == statement_key("forall (n : nat), n + 0 = n")
    assert statement_key("forall m : nat, m + 0 = m") != statement_key("forall m : nat, 0 + m = m")


def test_premise_shapes_and_patterns():
    shape = premise_shape("Theorem le_n_S : forall n m, n <= m -> S n <= S m.")
    uses = {p.use: p.constants for p in patterns_of(0, "le_n_S", shape)}
    assert uses == {"apply-hypothesis": {"S", "<="}, "apply-conclusion": {"<="}}
    shape = premise_shape("Lemma plus_n_O : forall n:nat, n = n + 0.")
    uses = {p.use: p.constants for p in patterns_of(0, "plus_n_O", shape)}
    # the left side is a bare variable: it would match anything, so only right-to-left
    assert uses == {"rewrite <-": {"+", "0"}}
    assert is_theorem_kind("Lemma", "") and not is_theorem_kind("Definition", "")
    assert is_theorem_kind("", "Corollary c : True.")


def _corpus():
    return Corpus(
        [
            {
                "path": "A.v",
                "imports": [],
                "premises": [
                    {"full_name": "A.add_0_r", "code": "Lemma add_0_r : forall n, n + 0 = n.", "start": [1, 0], "end": [1, 30], "kind": "Lemma"},
                    {"full_name": "A.later", "code": "Lemma later : forall n, n * 1 = n.", "start": [9, 0], "end": [9, 30], "kind": "Lemma"},
                    {"full_name": "A.def", "code": "Definition def := 0 * 1.", "start": [10, 0], "end": [10, 20], "kind": "Definition"},
                ],
            },
            {"path": "B.v", "imports": [], "premises": [
                {"full_name": "B.mul_1_r", "code": "Lemma mul_1_r : forall n, n * 1 = n.", "start": [1, 0], "end": [1, 30], "kind": "Lemma"},
            ]},
        ]
    )


def test_index_lookup_respects_constants_and_accessibility():
    corpus = _corpus()
    index = PremiseIndex.from_premises(corpus.premises)
    place = frozenset({"+", "0", "*", "1"})
    everything = index.candidates("rewrite", place, ("rewrite ->", "rewrite <-"))
    assert {p.full_name for p in everything} == {"A.add_0_r", "A.later", "B.mul_1_r"}
    # at line 5 of A.v: A.later (line 9) is not yet declared and B.v is not imported
    accessible = corpus.accessible_mask("A.v", (5, 0))
    found = index.candidates("rewrite", place, ("rewrite ->", "rewrite <-"), accessible)
    assert {p.full_name for p in found} == {"A.add_0_r"}
    # constants of the pattern must all occur in the place
    assert index.candidates("rewrite", frozenset({"+"}), ("rewrite ->",), np.ones(len(corpus), bool)) == []
