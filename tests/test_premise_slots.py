"""Premise slots: a remembered tactic's premise arguments refilled with premises ranked for the goal by
their statements' embeddings, so search can use a premise that no training proof used (real FAISS,
real Coq)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.mixture import MixtureGenerator
from proofsmith.prover.generators.premise_slots import PremiseSlotGenerator
from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
from proofsmith.prover.premise_slots import APPLY, REWRITE, TERM, PremiseStatements, premise_slots
from proofsmith.prover.search import BestFirstSearchProver
from proofsmith.prover.tactic_memory import TacticMemory, memory_encoder

from .test_tactic_memory import _theorem, goal

ARITH = "theories/Arith/PeanoNat.v"
# Real stdlib statements, as the trace prints them (`name : type`).
PREMISES = [
    ("Coq.Arith.PeanoNat.Nat.add_comm", "add_comm : forall n m : nat, n + m = m + n", "Lemma"),
    ("Coq.Arith.PeanoNat.Nat.mul_comm", "mul_comm : forall n m : nat, n * m = m * n", "Lemma"),
    ("Coq.Arith.PeanoNat.Nat.add_0_r", "add_0_r : forall n : nat, n + 0 = n", "Lemma"),
    ("Coq.Arith.PeanoNat.Nat.le_refl", "le_refl : forall n : nat, n <= n", "Lemma"),
    ("Coq.Arith.PeanoNat.Nat.double", "double : nat -> nat", "Definition"),
]
ADD_COMM = goal("", "forall a b : nat, a + b = b + a")
ADD_COMM_1 = goal("a, b : nat", "a + b = b + a")
ADD_COMM_2 = goal("a, b : nat", "b + a = b + a")
# The only training proof: it rewrites with add_comm; nothing anywhere uses mul_comm.
TRAIN = [_theorem("Lib.add_comm'", [(ADD_COMM, "intros a b."), (ADD_COMM_1, "rewrite Nat.add_comm."),
                                     (ADD_COMM_2, "reflexivity.")], ARITH)]
MUL_COMM = Theorem("t_mul_comm", "Theorem t_mul_comm : forall a b : nat, a * b = b * a.", "Require Import PeanoNat.\n")


def write_trace(root: Path) -> Path:
    for strategy in ("random", "novel_premises"):
        (root / strategy).mkdir(parents=True, exist_ok=True)
        (root / strategy / "train.json").write_text(json.dumps(TRAIN))
        (root / strategy / "test.json").write_text("[]")
    premises = [{"full_name": n, "code": c, "start": [10 + i, 1], "end": [10 + i, 40], "kind": k}
                for i, (n, c, k) in enumerate(PREMISES)]
    (root / "corpus.jsonl").write_text(json.dumps({"path": ARITH, "imports": [], "premises": premises}) + "\n")
    (root / "metadata.json").write_text(json.dumps({"libraries": [
        {"name": "stdlib", "logical": "Coq", "root": "/usr/lib/coq/theories"}]}))
    return root


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return write_trace(tmp_path_factory.mktemp("slots") / "trace")


@pytest.fixture(scope="module")
def memory(trace, tmp_path_factory):
    return TacticMemory.from_trace(trace, "random", encoder=memory_encoder(), cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def statements(trace, memory, tmp_path_factory):
    return PremiseStatements.of_trace(trace, memory.encoder, cache_dir=tmp_path_factory.mktemp("statements"))


@pytest.mark.parametrize("tactic,hypotheses,expected", [
    ("rewrite Nat.add_comm.", (), [(REWRITE, "Nat.add_comm", "rewrite X.")]),
    ("rewrite <- plus_n_Sm. reflexivity.", (), [(REWRITE, "plus_n_Sm", "rewrite <- X. reflexivity.")]),
    ("rewrite double_S, double_0.", (), [(REWRITE, "double_S", "rewrite X, double_0."),
                                         (REWRITE, "double_0", "rewrite double_S, X.")]),
    ("rewrite (Nat.add_comm a b), <- H.", ("H",), [(REWRITE, "Nat.add_comm", "rewrite (X a b), <- H.")]),
    ("rewrite !Nat.add_0_r in H by lia.", ("H",), [(REWRITE, "Nat.add_0_r", "rewrite !X in H by lia.")]),
    ("eapply (le_trans _ _ _ H0).", ("H0",), [(APPLY, "le_trans", "eapply (X _ _ _ H0).")]),
    ("exact (proj1 H).", ("H",), [(APPLY, "proj1", "exact (X H).")]),
    ("destruct (Nat.eq_dec n m) as [E|E].", ("n", "m"), [(TERM, "Nat.eq_dec", "destruct (X n m) as [E|E].")]),
    ("pose proof (Nat.le_refl n) as L.", ("n",), [(TERM, "Nat.le_refl", "pose proof (X n) as L.")]),
    ("apply H.", ("H",), []),
    ("rewrite IHn; auto.", ("IHn",), []),
    ("intros n. induction n.", ("n",), []),
])
def test_premise_arguments_become_slots_and_hypotheses_do_not(tactic, hypotheses, expected):
    slots = premise_slots(tactic, hypotheses)
    assert [(s.kind, s.name, s.fill(tactic, "X")) for s in slots] == expected


def test_statements_rank_accessible_premises_for_the_goal_and_the_slot(statements):
    key = "a * b = b * a\na, b : nat"
    rewrite = [p.full_name for p, _ in statements.rank(key, MUL_COMM, REWRITE, 3)]
    assert rewrite[0] == "Coq.Arith.PeanoNat.Nat.mul_comm"
    assert "Coq.Arith.PeanoNat.Nat.le_refl" not in rewrite  # not an equation
    every = [p.full_name for p, _ in statements.rank(key, MUL_COMM, APPLY, 10)]
    assert "Coq.Arith.PeanoNat.Nat.double" not in every and len(every) == 4  # a definition fills no slot
    # a library theorem sees only what precedes it in its file (and its imports)
    inside = Theorem("Coq.Arith.PeanoNat.Nat.add_0_r", "Lemma add_0_r : forall n : nat, n + 0 = n.")
    assert {p.full_name for p, _ in statements.rank(key, inside, APPLY, 10)} == {
        "Coq.Arith.PeanoNat.Nat.add_comm", "Coq.Arith.PeanoNat.Nat.mul_comm"}


def test_slot_filling_proposes_a_premise_no_training_proof_used(memory, statements):
    used = {t["tactic"] for theorem in TRAIN for t in theorem["traced_tactics"]}
    assert not any("mul_comm" in tactic for tactic in used)
    generator = PremiseSlotGenerator(TacticMemoryGenerator(memory, online=False), statements)
    with pytest.raises(ValueError, match="within a search"):
        generator.generate([goal("a, b : nat", "a * b = b * a")], 8)
    generator.start(MUL_COMM)
    (candidates,) = generator.generate([goal("x, y : nat", "x * y = y * x")], 8)
    assert candidates[0].tactic == "rewrite Coq.Arith.PeanoNat.Nat.mul_comm."
    assert all(c.logprob <= 0 for c in candidates) and sum(2.718281828 ** c.logprob for c in candidates) <= 1 + 1e-6
    assert "rewrite Nat.add_comm." not in [c.tactic for c in candidates]  # the plain memory's own


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


@pytest.mark.coq
def test_search_proves_a_theorem_with_a_premise_no_training_proof_used(memory, statements, checker):
    plain = TacticMemoryGenerator(memory, online=False)
    alone = BestFirstSearchProver(MixtureGenerator([(plain, 1.0, 16)])).search(MUL_COMM, checker, Budget(wall_s=20))
    assert not alone.result.proved  # the memory by itself replays add_comm, which does not apply

    slots = PremiseSlotGenerator(plain, statements)
    prover = BestFirstSearchProver(MixtureGenerator([(plain, 0.7, 16), (slots, 0.3, 16)]))
    outcome = prover.search(MUL_COMM, checker, Budget(wall_s=30))
    result = outcome.result
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.proof == "intros a b.\nrewrite Coq.Arith.PeanoNat.Nat.mul_comm.\nreflexivity."
    assert result.extra["proof_sources"] == ["tactic-memory", "premise-slots", "tactic-memory"]
    assert checker.check(MUL_COMM, result.proof).proved
    outcome.tree.check_invariants()


def test_memory_search_takes_premise_slots_and_names_bad_ones(trace, tmp_path):
    from proofsmith.prover.registry import ProverOptionError, make_prover

    prover = make_prover("memory-search", memory=str(trace), premise_slots=True, memory_online=False)
    names = [part.name for part, _, _ in prover.generator.parts]
    assert names == ["tactic-memory", "premise-slots", "model-free"]
    # the model-free part's premise tactics take the same statement-ranked premises
    assert prover.retriever is prover.generator.parts[1][0].statements
    (best, *_) = prover.retriever.retrieve(goal("x, y : nat", "x * y = y * x"), MUL_COMM, 2)
    assert best.name == "Coq.Arith.PeanoNat.Nat.mul_comm" and best.statement == "forall n m : nat, n * m = m * n"
    with pytest.raises(ProverOptionError, match="premise_slot_share must be in"):
        make_prover("memory-search", memory=str(trace), premise_slots=True, premise_slot_share=1.5)
    bare = tmp_path / "bare"
    TacticMemory.from_trace(trace, "random", encoder=memory_encoder(), cache_dir=tmp_path / "c").save(bare)
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(trace, moved)
    (moved / "corpus.jsonl").unlink()
    with pytest.raises(ProverOptionError, match="corpus.jsonl"):
        make_prover("memory-search", memory=str(moved), premise_slots=True)


def test_a_premise_is_named_as_the_targets_file_refers_to_it(statements):
    mul_comm = statements.corpus.by_name["Coq.Arith.PeanoNat.Nat.mul_comm"]
    # from elsewhere: the full name; inside PeanoNat's module Nat, where the target stands: its own name
    assert statements.name_for(mul_comm, MUL_COMM) == "Coq.Arith.PeanoNat.Nat.mul_comm"
    inside = Theorem("Coq.Arith.PeanoNat.Nat.add_0_r", "Lemma add_0_r : forall n : nat, n + 0 = n.")
    assert statements.name_for(mul_comm, inside) == "mul_comm"
    after = Theorem("Coq.Arith.PeanoNat.later", "Lemma later : True.")  # after `End Nat.`, not in the corpus
    assert statements.name_for(mul_comm, after) == "Coq.Arith.PeanoNat.Nat.mul_comm"


@pytest.mark.parametrize("tactic,hypotheses,expected", [
    ("rewrite Nat.add_comm.", (), ["rewrite X."]),
    ("now rewrite double_S, <- double_0 by lia.", (), ["rewrite X.", "rewrite <- X."]),
    ("rewrite !Nat.add_0_r, IHn in H; auto.", ("H", "IHn"), ["rewrite X in H."]),
    ("erewrite Nat.add_comm; eauto.", (), ["erewrite X."]),
    ("apply (Nat.le_trans _ m) in H0; lia.", ("H0", "m"), ["apply X in H0."]),
    ("exact (proj1 H).", ("H",), ["apply X."]),
    ("simple eapply le_trans; eauto.", (), ["eapply X."]),
    ("destruct (Nat.eq_dec n m) as [E|E].", ("n", "m"), [None]),
])
def test_a_slot_comes_down_to_a_one_premise_step(tactic, hypotheses, expected):
    steps = [slot.single_step(tactic) for slot in premise_slots(tactic, hypotheses)]
    assert [None if s is None else s[1].fill(s[0], "X") for s in steps] == expected
    assert all(s is None or s[1].name == slot.name for s, slot in zip(steps, premise_slots(tactic, hypotheses)))


# A training proof whose only step with a premise is compound: refilled whole, `rewrite X, Nat.add_0_r`
# needs add_0_r to apply after X, which it does not for a product.
COMPOUND = [(ADD_COMM, "intros a b."), (goal("a, b : nat", "a + b + 0 = b + a"), "rewrite Nat.add_0_r, Nat.add_comm."),
            (ADD_COMM_2, "reflexivity.")]


@pytest.fixture(scope="module")
def compound_memory():
    memory = TacticMemory(memory_encoder())
    memory.add_proofs([("Lib.add_comm_0", COMPOUND)], learned=False)
    return memory


def test_single_steps_split_a_compound_template_into_one_premise_steps(compound_memory, statements):
    state = goal("x, y : nat", "x * y = y * x")
    whole = PremiseSlotGenerator(TacticMemoryGenerator(compound_memory, online=False), statements)
    split = PremiseSlotGenerator(TacticMemoryGenerator(compound_memory, online=False), statements, single_steps=True)
    for generator in (whole, split):
        generator.start(MUL_COMM)
    (plain,) = whole.generate([state], 16)
    (candidates,) = split.generate([state], 16)
    tactics = [c.tactic for c in candidates]
    assert "rewrite Coq.Arith.PeanoNat.Nat.mul_comm." not in [c.tactic for c in plain]
    assert "rewrite Coq.Arith.PeanoNat.Nat.mul_comm." in tactics
    assert "rewrite Nat.add_comm." in tactics  # the remembered step's own part, split off
    assert any(t.startswith("rewrite Nat.add_0_r, ") for t in tactics)  # the whole template still fills
    assert sum(2.718281828 ** c.logprob for c in candidates) <= 1 + 1e-6


@pytest.mark.coq
def test_search_proves_with_a_single_step_what_the_whole_template_cannot(compound_memory, statements, checker):
    plain = TacticMemoryGenerator(compound_memory, online=False)
    outcomes = {}
    for single in (False, True):
        slots = PremiseSlotGenerator(plain, statements, single_steps=single)
        prover = BestFirstSearchProver(MixtureGenerator([(plain, 0.7, 16), (slots, 0.3, 16)]))
        outcomes[single] = prover.search(MUL_COMM, checker, Budget(wall_s=20)).result
    assert not outcomes[False].proved
    assert outcomes[True].verdict is Verdict.PROVED, outcomes[True].reason
    assert "rewrite Coq.Arith.PeanoNat.Nat.mul_comm." in outcomes[True].proof.splitlines()
    assert checker.check(MUL_COMM, outcomes[True].proof).proved


def test_single_steps_need_premise_slots(trace):
    from proofsmith.prover.registry import ProverOptionError, make_prover

    with pytest.raises(ProverOptionError, match="needs premise_slots=true"):
        make_prover("memory-search", memory=str(trace), single_steps=True)
