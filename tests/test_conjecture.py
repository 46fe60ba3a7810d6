"""The conjecturer's rules (data_synth.conjecture) on real data, and elaboration with real Coq."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from proofsmith.data_synth import conjecture as cj

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / ".cache" / "mutants" / "stdlib.jsonl"
SOURCE = ROOT / ".cache" / "mutants" / "stdlib.jsonl.source.jsonl"
needs_mutants = pytest.mark.skipif(not MUTANTS.is_file(), reason="no stdlib mutant corpus (.cache/mutants/stdlib.jsonl)")

NAT_HEADER = "Require Import Coq.Arith.PeanoNat."
ADD_COMM = cj.Lemma("Coq.Arith.PeanoNat.Nat.add_comm", "add_comm : forall n m : nat, n + m = m + n")
MUL_COMM = cj.Lemma("Coq.Arith.PeanoNat.Nat.mul_comm", "mul_comm : forall n m : nat, n * m = m * n")


def _mutants(n: int):
    from proofsmith.formats.mutant_record import read_records

    return [r for _, r in itertools.islice(read_records(MUTANTS), n)]


def _seed(name: str, rate: float, lemmas=(), key: str = "") -> cj.Seed:
    return cj.Seed(name, f"Theorem {name} : True.", "exact I.", NAT_HEADER, key or name, rate, tuple(lemmas))


# ------------------------------------------------------------------ parsing and prompts


def test_parse_cuts_at_the_first_sentence_end_and_drops_a_restated_opening():
    parse = cj.ConjectureFormat.parse
    assert parse(" forall n : nat, n + 0 = n. Proof. auto. Qed.") == "forall n : nat, n + 0 = n"
    assert parse("Theorem mine : forall x : nat, x = x.\nMore text") == "forall x : nat, x = x"
    assert parse("Theorem conjecture : 1.5 = 1.5.") == "1.5 = 1.5"  # a decimal point is not a sentence end
    assert parse(" Nat.add 0 n = n") == "Nat.add 0 n = n"  # nor is a qualified name's dot
    assert parse("   ") == ""


def test_prompt_has_lemma_seed_with_proof_and_opening():
    class Tok:  # no chat template: the plain layout
        eos_token = "</s>"

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": text.split()}

        def decode(self, ids):
            return " ".join(ids)

    fmt = cj.ConjectureFormat(Tok())
    with_lemma = fmt.prompt(ADD_COMM, "Theorem t : forall n : nat, n + 0 = n.", "intros. lia.")
    assert "Lemma add_comm : forall n m : nat" in with_lemma
    assert "Theorem t : forall n : nat, n + 0 = n.\nProof.\nintros. lia.\nQed." in with_lemma
    assert with_lemma.endswith(cj.OPENING)
    assert f"Lemma:\n{cj.NO_LEMMA}" in fmt.prompt(None, "Theorem t : True.", "exact I.")


def test_a_prompt_for_a_served_model_is_cut_by_characters_and_a_fenced_reply_parses():
    from proofsmith.prover.generators.openai_server import cut_to_tokens

    with pytest.raises(ValueError, match="needs the model's tokenizer or a cut function"):
        cj.ConjectureFormat(None)
    fmt = cj.ConjectureFormat(None, max_prompt_tokens=60, cut=cut_to_tokens)
    proof = "intros. " + "simpl. " * 200 + "lia."
    prompt = fmt.prompt(ADD_COMM, "Theorem t : forall n : nat, n + 0 = n.", proof)
    # no chat template: the plain layout, the proof cut to 60 // 3 = 20 estimated tokens (4 characters each)
    assert prompt.startswith(cj.CONJECTURE_INSTRUCTION) and prompt.endswith(cj.OPENING)
    kept = prompt.split("Proof.\n", 1)[1].split("\nQed.", 1)[0]
    assert kept.endswith(" ...") and len(kept) <= 20 * 4 and proof.startswith(kept.removesuffix(" ..."))
    assert "Theorem t : forall n : nat, n + 0 = n." in prompt  # short parts are left whole
    assert fmt.target("True") == " True."  # no tokenizer, no end-of-sequence token
    assert cj.ConjectureFormat.parse("```coq\nTheorem conjecture : forall n : nat, n <= n * n.\n```") == \
        "forall n : nat, n <= n * n"
    assert cj.ConjectureFormat.parse("```\nforall n, 0 <= n.```") == "forall n, 0 <= n"


@needs_mutants
def test_first_training_set_is_the_mutation_corpus_read_as_parent_and_premise_to_mutant():
    mutants = _mutants(40)
    lemma_of = {m.premise: f"{m.premise.rsplit('.', 1)[-1]} : (its type)" for m in mutants}
    held_out = {mutants[0].parent}
    examples = cj.mutation_examples(mutants, lemma_of, {mutants[1].parent: "Proof.\nintros.\nauto.\nQed."}, held_out)
    assert len(examples) == sum(m.parent not in held_out for m in mutants)
    by_statement = {e.conjecture: e for e in examples}
    for m in mutants:
        if m.parent in held_out:
            assert cj.statement_body(m.statement) not in by_statement or by_statement[cj.statement_body(m.statement)].seed_statement != m.parent_statement
            continue
        e = by_statement[cj.statement_body(m.statement)]
        assert e.seed_statement == m.parent_statement  # the parent is the seed
        assert e.lemma is not None and e.lemma.name == m.premise  # the premise the mutation used is the lemma
        assert e.conjecture != cj.statement_body(m.parent_statement)
    parent_1 = [e for e in examples if e.seed_statement == mutants[1].parent_statement]
    assert parent_1 and all(e.seed_proof == "intros.\nauto." for e in parent_1)
    assert len(cj.mutation_examples(mutants, lemma_of, {}, limit=5)) == 5


# ------------------------------------------------------------------ seeds and inputs


def test_seeds_need_a_success_rate_above_035():
    seeds = [_seed("a", 0.25), _seed("b", 0.35), _seed("c", 0.5), _seed("d", 1.0)]
    assert [s.name for s in cj.select_seeds(seeds)] == ["c", "d"]


def test_no_lemma_takes_more_than_a_tenth_of_the_inputs():
    # every seed's proof uses the same lemma: it may fill at most 10% of the inputs
    seeds = [_seed(f"s{i}", 1.0, [ADD_COMM]) for i in range(30)] + [_seed("m", 1.0, [MUL_COMM])]
    inputs = cj.conjecture_inputs(seeds, 100, random.Random(0), empty_lemma_p=0.0)
    assert len(inputs) == 100
    shares = cj.lemma_shares(inputs)
    assert shares[ADD_COMM.name] <= 0.10 and max(shares.values()) <= 0.10
    with_lemmas = cj.conjecture_inputs(seeds, 100, random.Random(0), empty_lemma_p=0.5)
    empty = sum(i.lemma is None for i in with_lemmas)
    assert empty >= 40  # about half go without a lemma, and the capped lemma forces more
    assert cj.conjecture_inputs([], 10, random.Random(0)) == []


def test_lemmas_a_proof_uses_resolve_short_names_to_the_nearest_module():
    index = cj.LemmaIndex([
        ("Coq.Arith.PeanoNat.Nat.add_comm", "add_comm : forall n m : nat, n + m = m + n"),
        ("Coq.PArith.BinPos.Pos.add_comm", "add_comm : forall p q : positive, p + q = q + p"),
        ("Coq.Arith.PeanoNat.Nat.mul_comm", "mul_comm : forall n m : nat, n * m = m * n"),
    ])
    found = index.lemmas_in("intros. rewrite Nat.add_comm. apply mul_comm.", near="Coq.Arith.PeanoNat.Nat.foo")
    assert [lemma.name for lemma in found] == ["Coq.Arith.PeanoNat.Nat.add_comm", "Coq.Arith.PeanoNat.Nat.mul_comm"]
    assert index.lemmas_in("rewrite add_comm.", near="Coq.PArith.BinPos.Pos.bar")[0].name == "Coq.PArith.BinPos.Pos.add_comm"
    assert index.lemmas_in("intros; lia.") == []


def test_uses_lemma():
    assert cj.uses_lemma("rewrite Nat.add_comm. reflexivity.", ADD_COMM)
    assert cj.uses_lemma("apply (@Coq.Arith.PeanoNat.Nat.add_comm n m).", ADD_COMM)
    assert not cj.uses_lemma("lia.", ADD_COMM)
    assert not cj.uses_lemma("rewrite add_comm_bis.", ADD_COMM)
    assert cj.uses_lemma("lia.", None)  # no lemma in the prompt: nothing to use


# ------------------------------------------------------------------ selection


def _outcome(name, attempts, successes, lemma=ADD_COMM, proof="rewrite Nat.add_comm. lia.", body="forall n, n = n"):
    return cj.ConjectureOutcome(name, body, lemma, "seed", attempts, successes, [proof] if successes else [])


def test_selection_keeps_the_barely_provable_that_use_their_lemma():
    outcomes = [
        _outcome("never", 8, 0),
        _outcome("easy", 8, 2),  # 0.25 is not below 0.25
        _outcome("barely", 8, 1),
        _outcome("no_lemma_use", 8, 1, proof="lia."),
        _outcome("no_lemma", 8, 1, lemma=None, proof="lia."),
    ]
    sel = cj.select_conjectures(outcomes, elegance_drop=0.0)
    assert [o.name for o in sel.proved] == ["easy", "barely", "no_lemma_use", "no_lemma"]
    assert sorted(o.name for o in sel.barely) == ["barely", "no_lemma"]
    assert sorted(o.name for o in sel.kept) == ["barely", "no_lemma"]
    assert sel.dropped == {"pass rate too high": 1, "proof does not use the lemma": 1}


def test_elegance_filter_drops_the_lowest_fifth_of_each_lemma_group_and_the_cap_applies():
    # ratio = shortest proof length / statement length; within the add_comm group the 2 lowest of 10 go
    group = [_outcome(f"a{i}", 10, 1, proof="rewrite Nat.add_comm." + " lia." * i, body="x" * 40) for i in range(10)]
    other = [_outcome(f"m{i}", 10, 1, lemma=MUL_COMM, proof="rewrite Nat.mul_comm.", body="y" * 40) for i in range(4)]
    sel = cj.select_conjectures(group + other)
    kept = {o.name for o in sel.kept}
    assert "a0" not in kept and "a1" not in kept and {f"a{i}" for i in range(2, 10)} <= kept
    assert len([n for n in kept if n.startswith("m")]) == 4  # int(0.2 * 4) = 0 dropped from a group of 4
    assert sel.dropped["elegance filter"] == 2
    capped = cj.select_conjectures(group + other, cap=5)
    assert len(capped.kept) == 5 and capped.dropped["over the cap"] == 7


# ------------------------------------------------------------------ elaboration with real Coq


@pytest.fixture(scope="module")
def session():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    checker = open_checker("coq", CheckerSettings(workers=1))
    with checker.session() as s:
        yield s
    checker.close()


def _library_key(name: str) -> str:
    from proofsmith.formats.json_files import read_jsonl

    return next(r["key"] for _, r in read_jsonl(SOURCE) if r["name"] == name)


@pytest.mark.coq
def test_elaboration_in_the_seeds_environment_with_coqs_reason(session):
    seed = _seed("Coq.Arith.PeanoNat.Nat.add_0_r", 1.0)
    good = cj.elaborate(session, "conj_ok", "forall a b : nat, a + b + 0 = b + a", seed)
    assert good.well_formed and good.key and good.header == NAT_HEADER
    # the same statement with other bound names has the same key (alpha-normalised)
    assert cj.elaborate(session, "conj_ok2", "forall x y : nat, x + y + 0 = y + x", seed).key == good.key
    unknown = cj.elaborate(session, "conj_bad", "forall n : nat, frobnicate n = n", seed)
    assert not unknown.well_formed and unknown.reason == "unknown reference" and "frobnicate" in unknown.message
    syntax = cj.elaborate(session, "conj_syntax", "forall n : nat, n + = n", seed)
    assert not syntax.well_formed and syntax.reason == "syntax error"
    typed = cj.elaborate(session, "conj_type", "forall n : nat, n = true", seed)
    assert not typed.well_formed and typed.reason == "type error"
    assert cj.elaborate(session, "conj_empty", "", seed).reason == "empty"


@pytest.mark.coq
@pytest.mark.skipif(not SOURCE.is_file(), reason="no source statements log of the stdlib mutation run")
def test_a_restated_library_theorem_has_the_librarys_key(session):
    seed = cj.Seed("s", "Theorem s : True.", "exact I.", NAT_HEADER, "s", 1.0)
    e = cj.elaborate(session, "conj_copy", "forall p q : nat, p + q = q + p", seed)
    assert e.well_formed and e.key == _library_key("Coq.Arith.PeanoNat.Nat.add_comm")
