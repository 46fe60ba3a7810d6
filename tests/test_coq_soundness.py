"""The adversarial suite: cheating attempts that must all be rejected, and honest
proofs that must all be accepted, against real Coq."""

import pytest

from checker.pool import PooledChecker
from checker.settings import CheckerSettings
from checker.types import ProofTask, Theorem, Verdict
from tests.conftest import requires_coq

pytestmark = requires_coq

NAT = ""
ARITH = "Require Import Arith.\n"
Z = "Require Import ZArith.\nOpen Scope Z_scope.\n"
R = "Require Import Reals.\nOpen Scope R_scope.\n"
LIST = "Require Import List.\nImport ListNotations.\n"

FALSE = ("cheat", "Theorem cheat : False.", NAT)
ONE_TWO = ("cheat12", "Theorem cheat12 : 1 = 2.", NAT)
HARD = ("hard", "Theorem hard : forall n : nat, n + 1 = 1 + n.", NAT)

# (statement triple, proof, why it must fail)
CHEATS = [
    (FALSE, "Admitted.", "Admitted"),
    (FALSE, "Proof. Admitted.", "Admitted after Proof"),
    (FALSE, "admit.", "admit tactic"),
    (HARD, "intros. admit.", "admit after progress"),
    (FALSE, "give_up.", "give_up"),
    (HARD, "intros; try admit.", "admit inside try"),
    (HARD, "intros n; (admit).", "admit in parentheses"),
    (HARD, "all: admit.", "goal selector then admit"),
    (HARD, "1: admit.", "numbered selector then admit"),
    (HARD, "intros. - admit.", "admit behind a bullet"),
    (HARD, "intros. { admit. }", "admit inside braces"),
    (FALSE, "Abort.", "Abort"),
    (FALSE, "Abort All.", "Abort All"),
    (FALSE, "Axiom ax : False. exact ax.", "Axiom inside the proof"),
    (FALSE, "Parameter p : False. exact p.", "Parameter inside the proof"),
    (FALSE, "Hypothesis h : False. exact h.", "Hypothesis inside the proof"),
    (FALSE, "Variable v : False. exact v.", "Variable inside the proof"),
    (FALSE, "Conjecture c : False. exact c.", "Conjecture"),
    (FALSE, "Local Axiom ax : False. exact ax.", "Local prefix"),
    (FALSE, "#[local] Axiom ax : False. exact ax.", "attribute"),
    (FALSE, "Unset Guard Checking. exact ((fix f (n : nat) : False := f n) 0).", "guard checking off"),
    (FALSE, "Unset Universe Checking. admit.", "universe checking off"),
    (FALSE, "Unset Positivity Checking. exact I.", "positivity checking off"),
    (FALSE, "Set Nested Proofs Allowed. Lemma l : False. Admitted. exact l.", "nested proof"),
    (FALSE, "Lemma l : False. Admitted.", "nested lemma"),
    (ONE_TWO, "Qed. Theorem cheat12 : 1 = 1. reflexivity.", "restated statement after early Qed"),
    (ONE_TWO, "Defined. Theorem cheat12 : 1 = 1. Proof. reflexivity.", "restated statement after early Defined"),
    (FALSE, "Reset cheat.", "Reset"),
    (FALSE, "Back 1.", "Back"),
    (FALSE, "BackTo 1.", "BackTo"),
    (FALSE, "Undo.", "Undo"),
    (FALSE, "Restart.", "Restart"),
    (FALSE, "Require Import Classical. apply NNPP.", "Require inside the proof"),
    (FALSE, "From Coq Require Import Classical. auto.", "From ... Require"),
    (FALSE, "Drop.", "Drop"),
    (FALSE, "Quit.", "Quit"),
    (FALSE, "Definition x := 1. exact I.", "Definition"),
    (FALSE, "Ltac done := admit. done.", "Ltac definition"),
    (FALSE, "Module M. End M. exact I.", "Module"),
    (FALSE, "Section S. End S.", "Section"),
    (FALSE, "Time admit.", "Time control prefix"),
    (FALSE, "Timeout 10 admit.", "Timeout control prefix"),
    (FALSE, "Fail idtac. Admitted.", "Fail then Admitted"),
    (FALSE, "Succeed admit.", "Succeed"),
    (FALSE, 'Redirect "out" admit.', "Redirect"),
    (FALSE, "idtac. (* hide. *) Admitted.", "Admitted after a comment with periods"),
    (FALSE, 'idtac "fake. Qed.". Admitted.', "Admitted after a string with periods"),
    (FALSE, "idtac. Admitted. (* Qed. *)", "Admitted followed by a comment"),
    (FALSE, "idtac.\tAdmitted.", "two sentences separated by a tab"),
    (FALSE, "(* (* nested *) . *) Admitted.", "nested comment before Admitted"),
    (FALSE, "exact I.", "ill-typed term"),
    (FALSE, "exact_no_check I.", "kernel must reject exact_no_check"),
    (ONE_TWO, "change_no_check (1 = 1). reflexivity.", "kernel must reject change_no_check"),
    (FALSE, "Program Definition x : nat := 0. exact I.", "Program"),
    (FALSE, "Instance i : Inhabited nat := {}. exact I.", "Instance"),
    (FALSE, 'Notation "\'I\'" := tt. exact I.', "Notation"),
    (FALSE, "Opaque plus. exact I.", "Opaque"),
    (FALSE, "Hint Resolve I : core. auto.", "Hint"),
    (FALSE, "Eval compute in 1. exact I.", "Eval"),
    (FALSE, "Set Printing All. exact I.", "Set"),
    (FALSE, "Qed.", "no tactic at all"),
    (FALSE, "", "empty proof"),
    (FALSE, "Proof. Proof. exact I.", "second Proof"),
    (FALSE, "intros. let rec loop := (idtac; loop) in loop.", "does not terminate"),
]

# (name, header, statement, proof)
HONEST = [
    ("h_refl", NAT, "Theorem h_refl : 2 + 2 = 4.", "reflexivity."),
    ("h_proof_qed", NAT, "Theorem h_proof_qed : True.", "Proof. exact I. Qed."),
    ("h_defined", NAT, "Theorem h_defined : True.", "Proof. exact I. Defined."),
    ("h_add0", NAT, "Theorem h_add0 : forall n : nat, n + 0 = n.", "induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity]."),
    ("h_bullets", NAT, "Theorem h_bullets : forall n : nat, n + 0 = n.", "intros n. induction n as [|n IH].\n- reflexivity.\n- simpl. rewrite IH. reflexivity."),
    ("h_nested_bullets", NAT, "Theorem h_nested_bullets : True /\\ (True /\\ True).", "split.\n- exact I.\n- split.\n  + exact I.\n  + exact I."),
    ("h_braces", NAT, "Theorem h_braces : True /\\ True.", "split. { exact I. } { exact I. }"),
    ("h_selector", NAT, "Theorem h_selector : True /\\ True.", "split. all: exact I."),
    ("h_numbered", NAT, "Theorem h_numbered : True /\\ 1 = 1.", "split. 2: reflexivity. exact I."),
    ("h_semicolon", NAT, "Theorem h_semicolon : True /\\ True /\\ True.", "repeat split; exact I."),
    ("h_lia", NAT, "Theorem h_lia : forall a b : nat, a < b -> 2 * a + 1 < 2 * b.", "intros; lia."),
    ("h_lia_z", Z, "Theorem h_lia_z (x y : Z) : x < y -> x + 1 <= y.", "intros. lia."),
    ("h_nia", NAT, "Theorem h_nia (n : nat) : n * n >= 0.", "nia."),
    ("h_nia2", Z, "Theorem h_nia2 (x : Z) : 0 <= x -> 0 <= x * x * x.", "intros. nia."),
    ("h_ring_nat", ARITH, "Theorem h_ring_nat (a b : nat) : (a + b) * (a + b) = a * a + 2 * a * b + b * b.", "ring."),
    ("h_ring_z", Z, "Theorem h_ring_z (x y : Z) : (x - y) * (x + y) = x * x - y * y.", "ring."),
    ("h_ring_r", R, "Theorem h_ring_r (x y : R) : (x + y) ^ 2 = x ^ 2 + 2 * x * y + y ^ 2.", "ring."),
    ("h_field", R, "Theorem h_field (x : R) : x <> 0 -> x / x = 1.", "intros. field. assumption."),
    ("h_field2", R, "Theorem h_field2 (a b : R) : b <> 0 -> a / b * b = a.", "intros H. field. exact H."),
    ("h_lra", R, "Theorem h_lra (x y : R) : x < y -> x < (x + y) / 2 < y.", "intros. split; lra."),
    ("h_lra2", R, "Theorem h_lra2 (x : R) : 0 < x -> x / 2 < x.", "intros. lra."),
    ("h_nra", R, "Theorem h_nra (x : R) : 0 <= x * x.", "nra."),
    ("h_psatz", R, "Theorem h_psatz (x y : R) : 2 * x * y <= x ^ 2 + y ^ 2.", "assert (0 <= (x - y) ^ 2) by (apply pow2_ge_0). nra."),
    ("h_rabs", R, "Theorem h_rabs (x : R) : 0 <= Rabs x.", "apply Rabs_pos."),
    ("h_sqrt", R, "Theorem h_sqrt : sqrt 4 = 2.", "replace 4 with (2 * 2) by ring. rewrite sqrt_square; lra."),
    ("h_destruct", NAT, "Theorem h_destruct (b : bool) : b = true \\/ b = false.", "destruct b; [left | right]; reflexivity."),
    ("h_case_or", NAT, "Theorem h_case_or (P Q : Prop) : P \\/ Q -> Q \\/ P.", "intros [HP | HQ]; [right | left]; assumption."),
    ("h_intuition", NAT, "Theorem h_intuition (P Q : Prop) : P /\\ Q -> Q /\\ P.", "intuition."),
    ("h_firstorder", NAT, "Theorem h_firstorder (A : Type) (P : A -> Prop) (a : A) : (forall x, P x) -> exists y, P y.", "firstorder."),
    ("h_tauto", NAT, "Theorem h_tauto (P : Prop) : P -> ~ ~ P.", "tauto."),
    ("h_auto", NAT, "Theorem h_auto (P Q : Prop) : P -> (P -> Q) -> Q.", "auto."),
    ("h_eauto", NAT, "Theorem h_eauto : exists n : nat, n = 3.", "eauto."),
    ("h_exists", NAT, "Theorem h_exists : exists n : nat, n + n = 6.", "exists 3. reflexivity."),
    ("h_list_app", LIST, "Theorem h_list_app (A : Type) (l : list A) : l ++ [] = l.", "induction l as [|x l IH]; simpl; [reflexivity | now rewrite IH]."),
    ("h_list_len", LIST, "Theorem h_list_len (A : Type) (l1 l2 : list A) : length (l1 ++ l2) = length l1 + length l2.", "apply app_length."),
    ("h_rewrite_lemma", ARITH, "Theorem h_rewrite_lemma (n m : nat) : n + m = m + n.", "rewrite Nat.add_comm. reflexivity."),
    ("h_comment_periods", NAT, "Theorem h_comment_periods : True.", "(* a comment. with periods. *) exact I. (* trailing. *)"),
    ("h_string_period", NAT, "Theorem h_string_period : True.", 'idtac "not. a. sentence". exact I.'),
    ("h_unshelve", NAT, "Theorem h_unshelve : exists n : nat, n = n.", "eexists. reflexivity. Unshelve. exact 0."),
    ("h_proof_using", NAT, "Theorem h_proof_using : True.", "Proof using. exact I. Qed."),
    ("h_decide", NAT, "Theorem h_decide : 10 <> 11.", "discriminate."),
    ("h_zmod", Z, "Theorem h_zmod : (2 ^ 10) mod 7 = 2.", "reflexivity."),
    ("h_vm", Z, "Theorem h_vm : Z.gcd 84 36 = 12.", "vm_compute. reflexivity."),
    ("h_inversion", NAT, "Theorem h_inversion (n : nat) : S n = 0 -> False.", "intros H. inversion H."),
    ("h_abstract", NAT, "Theorem h_abstract : True /\\ 1 = 1.", "split; [exact I | abstract reflexivity]."),
]

# Found by trying the checker as a stranger would (issue 12), with their own
# headers: (name, header, statement, proof, why it must fail).
ADMITTED_HELPER = "Lemma helper : False. Admitted.\n"
HEADER_CHEATS = [
    ("deep", ADMITTED_HELPER, "Theorem deep : False.", "do 60 apply (@id False). exact helper.",
     "an admitted lemma under more nested applications than Coq prints"),
    ("deep2", ADMITTED_HELPER, "Theorem deep2 : False.", "do 300 apply (@id False). exact helper.", "deeper still"),
    ("uni", "Lemma \u03b1helper : False. Admitted.\n", "Theorem uni : False.", "exact \u03b1helper.",
     "an admitted lemma whose name starts with a non-ASCII letter"),
    ("uni2", "Lemma h\u03b2 : False. Admitted.\n", "Theorem uni2 : False.", "exact h\u03b2.", "a non-ASCII letter inside the name"),
    ("short", "Axiom f_spec : True.\nModule M. Lemma f_spec : False. Admitted. End M.\n", "Theorem short : False.",
     "exact M.f_spec.", "an admitted lemma with the short name of a header axiom"),
    ("guard", "Unset Guard Checking.\n", "Theorem guard : False.", "exact ((fix f (n : nat) : False := f n) 0).",
     "the theorem itself is not guarded (guard checking off in the header)"),
    ("guard2", "#[bypass_check(guard)] Fixpoint loop (n : nat) : False := loop n.\n", "Theorem guard2 : False.",
     "exact (loop 0).", "a header fixpoint that bypasses the guard"),
    ("positive", "#[bypass_check(positivity)] Inductive bad := C : (bad -> False) -> bad.\n", "Theorem positive : False.",
     "exact ((fun nb : bad -> False => nb (C nb)) (fun b => match b with C f => f b end)).",
     "an inductive that bypasses the positivity check"),
    ("positive2", "Unset Positivity Checking.\nInductive bad := C : (bad -> False) -> bad.\nSet Positivity Checking.\n",
     "Theorem positive2 : False.",
     "exact ((fun nb : bad -> False => nb (C nb)) (fun b => match b with C f => f b end)).",
     "a non-positive inductive declared with positivity checking off"),
    ("universes", "Unset Universe Checking.\n", "Theorem universes : Type.", "exact Type.",
     "universe checking off in the header"),
]
# (name, header, statement, proof): honest proofs the old checker rejected.
HEADER_HONEST = [
    ("sel_paren", NAT, "Theorem sel_paren : True /\\ True.", "split. 2: (exact I). exact I."),
    ("sel_dispatch", NAT, "Theorem sel_dispatch : True /\\ True.", "split. all: [> exact I | exact I ]."),
    ("sel_range", NAT, "Theorem sel_range : True /\\ True /\\ True.", "split; [|split]. 1-3: (exact I)."),
    ("local_axiom", "Local Axiom la : 1 = 2.\n", "Theorem local_axiom : 1 = 2.", "exact la."),
    ("attr_axiom", "#[local] Axiom la : 1 = 2.\n", "Theorem attr_axiom : 1 = 2.", "exact la."),
    ("context", "Context (x : nat) (Hx : x = 1).\n", "Theorem context : x + 1 = 2.", "rewrite Hx. reflexivity."),
    ("section_var", "Section S.\nVariable n : nat.\nHypothesis Hn : n = 1.\n", "Theorem section_var : n + 1 = 2.",
     "rewrite Hn. reflexivity."),
    ("section_ctx", "Section S.\nContext {A : Type} (a : A).\n", "Theorem section_ctx : a = a.", "reflexivity."),
    ("module_axiom", "Module M.\nAxiom m_spec : 1 = 2.\nEnd M.\n", "Theorem module_axiom : 1 = 2.", "exact M.m_spec."),
    ("uni_honest", "Lemma \u03b1ok : 1 = 1. Proof. reflexivity. Qed.\n", "Theorem uni_honest : 1 = 1.", "exact \u03b1ok."),
    ("deep_honest", NAT, "Theorem deep_honest : True.", "do 80 apply (@id True). exact I."),
]


def test_header_cheats_are_rejected(checker):
    tasks = [ProofTask(Theorem(n, st, hd), proof, 10.0) for n, hd, st, proof, _ in HEADER_CHEATS]
    results = checker.check_batch(tasks)
    accepted = [(why, r.axioms) for (*_, why), r in zip(HEADER_CHEATS, results) if r.verdict is Verdict.PROVED]
    assert not accepted
    for (*_, why), r in zip(HEADER_CHEATS, results):
        assert r.verdict is Verdict.FAILED and r.reason, (why, r)


def test_header_honest_proofs_are_accepted(checker):
    tasks = [ProofTask(Theorem(n, st, hd), proof) for n, hd, st, proof in HEADER_HONEST]
    results = checker.check_batch(tasks)
    rejected = [(n, r.reason) for (n, *_), r in zip(HEADER_HONEST, results) if r.verdict is not Verdict.PROVED]
    assert not rejected


def test_header_assumptions_are_reported_by_qualified_name(checker):
    result = checker.check(Theorem("section_var", "Theorem section_var : n + 1 = 2.",
                                   "Section S.\nVariable n : nat.\nHypothesis Hn : n = 1.\n"), "rewrite Hn. reflexivity.")
    assert result.proved and set(result.axioms) == {"n", "Hn"}
    result = checker.check(Theorem("m", "Theorem m : 1 = 2.", "Module M.\nAxiom m_spec : 1 = 2.\nEnd M.\n"), "exact M.m_spec.")
    assert result.proved and result.axioms == ("Top.M.m_spec",)


def test_deep_classical_axiom_is_seen_when_no_axiom_is_allowed():
    strict = CheckerSettings(workers=1, coq_allowed_axioms=[])
    theorem = Theorem("em_deep", "Theorem em_deep (P : Prop) : P \\/ ~ P.", "Require Import Classical.\n")
    with PooledChecker(lambda: _session(strict), strict) as c:
        result = c.check(theorem, "do 60 apply (@id (P \\/ ~ P)). apply classic.")
    assert result.verdict is Verdict.FAILED
    assert "Coq.Logic.Classical_Prop.classic" in result.reason


def test_an_earlier_proof_cannot_vouch_for_a_later_one(checker):
    """Constants a proof creates (`abstract` sub-proofs) are judged afresh each
    time, never from what an earlier proof with the same names left in a cache."""
    honest = Theorem("t", "Theorem t : True.", ADMITTED_HELPER)
    cheat = Theorem("t", "Theorem t : False.", ADMITTED_HELPER)
    with checker.session() as s:
        assert s.check(honest, "abstract exact I.").proved
        later = s.check(cheat, "abstract exact helper.")
        assert later.verdict is Verdict.FAILED and "Top.helper" in later.reason
        assert s.check(honest, "abstract exact I.").proved


HEADER_AXIOM = "Parameter f : nat -> nat.\nAxiom f_spec : forall n, f n = n.\n"


@pytest.fixture(scope="module")
def checker():
    with PooledChecker(lambda: __import__("checker.coq.session", fromlist=["CoqSession"]).CoqSession(SETTINGS), SETTINGS) as c:
        yield c


SETTINGS = CheckerSettings(workers=2, timeout_s=20)


def test_suite_sizes():
    assert len(CHEATS) >= 40 and len(HONEST) >= 40


def test_every_cheat_is_rejected_with_a_reason(checker):
    tasks = [ProofTask(Theorem(n, st, hd), proof, 5.0) for (n, st, hd), proof, _ in CHEATS]
    results = checker.check_batch(tasks)
    accepted = [(why, r.reason) for (_, _, why), r in zip(CHEATS, results) if r.verdict is Verdict.PROVED]
    assert not accepted
    for (_, proof, why), r in zip(CHEATS, results):
        assert r.reason, f"no reason given for {why!r}"
        # a proof that exhausts Coq's stack or memory is `error`: the process was replaced
        unsound = r.verdict is Verdict.ERROR and "process failed" in r.reason
        assert r.verdict in (Verdict.FAILED, Verdict.TIMEOUT) or unsound, (why, r)


def test_every_honest_proof_is_accepted(checker):
    tasks = [ProofTask(Theorem(n, st, hd), proof) for n, hd, st, proof in HONEST]
    results = checker.check_batch(tasks)
    rejected = [(n, r.reason) for (n, *_), r in zip(HONEST, results) if r.verdict is not Verdict.PROVED]
    assert not rejected


def test_axioms_are_reported_and_match_print_assumptions(checker):
    """The per-constant fast path gives exactly what Coq's own Print Assumptions says."""
    theorem = Theorem("ax_r", "Theorem ax_r (x : R) : 0 < x -> x / 2 < x.", R)
    result = checker.check(theorem, "intros; lra.")
    assert result.proved
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in result.axioms
    with checker.session() as s:
        s.load_header(R)
        for sentence in (theorem.statement, "intros; lra.", "Qed."):
            s._add(sentence, 20)
        s._force(20)
        direct = s._assumptions.by_print_assumptions("Top.ax_r", s._tip)
    assert set(result.axioms) == {a.name for a in direct}


def test_header_axioms_are_allowed_but_disallowed_library_axioms_are_not():
    theorem = Theorem("uses_spec", "Theorem uses_spec : f 3 = 3.", HEADER_AXIOM)
    classical = Theorem("em", "Theorem em (P : Prop) : P \\/ ~ P.", "Require Import Classical.\n")
    strict = CheckerSettings(workers=1, coq_allowed_axioms=[])
    with PooledChecker(lambda: _session(strict), strict) as c:
        ok = c.check(theorem, "apply f_spec.")
        assert ok.proved and ok.axioms == ("Top.f", "Top.f_spec")
        bad = c.check(classical, "apply classic.")
        assert bad.verdict is Verdict.FAILED
        assert "Coq.Logic.Classical_Prop.classic" in bad.reason


def _session(settings):
    from checker.coq.session import CoqSession

    return CoqSession(settings)


def test_nothing_survives_into_the_next_proof(checker):
    """A theorem proved earlier in the same session is not visible to the next proof."""
    first = Theorem("lemma_one", "Theorem lemma_one : 1 = 1.")
    with checker.session() as s:
        assert s.check(first, "reflexivity.").proved
        later = s.check(Theorem("uses_it", "Theorem uses_it : 1 = 1."), "exact lemma_one.")
        assert later.verdict is Verdict.FAILED
        assert "lemma_one" in later.reason


def test_bad_statements_are_errors_not_proofs(checker):
    two = Theorem("two", "Theorem two : True. Axiom a : False.")
    not_theorem = Theorem("d", "Definition d := 1.")
    broken = Theorem("broken", "Theorem broken : undefined_thing = 1.")
    for theorem in (two, not_theorem, broken):
        result = checker.check(theorem, "exact I.")
        assert result.verdict is Verdict.ERROR and result.reason


def test_a_process_out_of_memory_costs_only_its_own_proof():
    """Coq reports "Out of memory." as an ordinary error and carries on in an
    unknown state: the proof that did it is `error`, the process is replaced."""
    from checker.coq.session import CoqSession

    settings = CheckerSettings(workers=1, memory_mb=1500)
    with CoqSession(settings) as s:
        before = s.pid
        hog = s.check(Theorem("t", "Theorem t : 1 = 1."), "pose (l := List.repeat 0 50000000). vm_compute in l. reflexivity.", 60)
        assert hog.verdict is Verdict.ERROR and "Out of memory" in hog.reason
        assert s.pid != before
        for i in range(5):
            assert s.check(Theorem(f"ok{i}", f"Theorem ok{i} : {i} + 1 = S {i}."), "reflexivity.").proved


def test_a_stack_overflow_is_an_error_and_the_process_is_replaced():
    from checker.coq.session import CoqSession

    settings = CheckerSettings(workers=1, coq_stack_mb=8)
    with CoqSession(settings) as s:
        before = s.pid
        deep = s.check(Theorem("t", "Theorem t : 1 = 1."), "idtac.\n" * 40000 + "reflexivity.", 120)
        assert deep.verdict is Verdict.ERROR and "Stack overflow" in deep.reason
        assert s.pid != before
        assert s.check(Theorem("t", "Theorem t : 1 = 1."), "reflexivity.").proved


def test_long_proofs_that_coq_accepts_are_accepted():
    """40,000 sentences: the default stack limit lets coqidetop take what coqc takes."""
    from checker.coq.session import CoqSession

    with CoqSession(CheckerSettings(workers=1)) as s:
        result = s.check(Theorem("t", "Theorem t : 1 = 1."), "idtac.\n" * 40000 + "reflexivity.", 300)
    assert result.proved, result.reason
