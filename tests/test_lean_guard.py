"""The Lean soundness guard: an adversarial suite of cheats that must be rejected (each with its
reason), honest proofs that must pass, statements, and the `#print axioms` judgement.

What only Lean can judge (self-reference, ill-typed terms, unsolved goals) is
covered by the recorded transcripts in test_lean_session.py and by
test_lean_real.py where a toolchain exists.
"""

from pathlib import Path

import pytest

from proofsmith.checker.lean import guard
from proofsmith.checker.lean.guard import GuardRejection, parse_statement, proof_command
from proofsmith.checker.lean.protocol import Message

KIMINA_INPUTS = Path(__file__).parent / "fixtures" / "kimina" / "match" / "input"

FALSE = parse_statement("theorem cheat : False")
HARD = parse_statement("theorem hard (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b")

# (statement, proof, words the rejection must contain)
CHEATS = [
    (FALSE, "sorry", "'sorry' gives up"),
    (FALSE, "exact sorry", "'sorry'"),
    (FALSE, ":= sorry", "'sorry'"),
    (FALSE, "by sorry", "'sorry'"),
    (HARD, "nlinarith [sq_nonneg (a - b)] <;> sorry", "'sorry'"),
    (HARD, "first | sorry | rfl", "'sorry'"),
    (HARD, "all_goals sorry", "'sorry'"),
    (FALSE, "have h : False := by sorry\nexact h", "'sorry'"),
    (FALSE, "exact (sorryAx False true)", "sorry axiom"),
    (FALSE, "exact Lean.sorryAx _ false", "sorry axiom"),
    (FALSE, "exact «sorry»", "'sorry'"),
    (FALSE, "admit", "'admit' gives up"),
    (FALSE, "stop\n  exact foo", "'stop' abandons"),
    (FALSE, "-- a comment line\nsorry", "'sorry'"),
    (FALSE, "/- /- nested -/ -/ sorry", "'sorry'"),
    (FALSE, "exact '\"'\nsorry", "'sorry'"),
    (FALSE, "/- never closed\nsorry", "unterminated comment"),
    (FALSE, 'exact "never closed\nsorry', "unterminated string"),
    (FALSE, "exact ax\naxiom ax : False", "'axiom' starts a new command"),
    (FALSE, "trivial\n\naxiom ax : False", "'axiom'"),
    (FALSE, "exact absurd\ntheorem cheat2 : False := cheat", "'theorem'"),
    (FALSE, "exact x\nlemma l : False := trivial", "'lemma'"),
    (FALSE, "exact x\ndef d : False := d", "'def'"),
    (FALSE, "exact x\ninstance : Inhabited False := ⟨d⟩", "'instance'"),
    (FALSE, "exact x\nopaque o : False", "'opaque'"),
    (FALSE, "exact x\nnamespace N", "'namespace'"),
    (FALSE, "exact x\nend", "'end'"),
    (FALSE, "exact x\nimport Mathlib", "'import'"),
    (FALSE, "exact x\nmutual", "'mutual'"),
    (FALSE, "exact x\nnoncomputable section", "'noncomputable'"),
    (FALSE, "#exit", "'#exit'"),
    (FALSE, "trivial\n#exit", "'#exit'"),
    (FALSE, "#eval IO.println 1", "'#eval'"),
    (FALSE, "#print axioms cheat", "'#print'"),
    (FALSE, "set_option debug.skipKernelTC true in\n  exact x", "debug.skipKernelTC"),
    (FALSE, "exact x\nset_option debug.skipKernelTC true", "debug.skipKernelTC"),
    (FALSE, "set_option «debug».«skipKernelTC» true in\n  exact x", "debug.skipKernelTC"),
    (FALSE, "exact «Lean».ofReduceBool _ _ rfl", "ofReduceBool"),
    (FALSE, "exact x\n@[implemented_by f] def g : False := g", "attributes"),
    (FALSE, "exact (implemented_by)", "'implemented_by'"),
    (FALSE, 'exact x\n@[extern "cheat"] opaque o : False', "attributes"),
    (FALSE, "exact (extern)", "'extern'"),
    (FALSE, "exact x\nunsafe def u : False := u", "'unsafe'"),
    (FALSE, "exact unsafe (u)", "'unsafe'"),
    (FALSE, "native_decide", "'native_decide' evaluates with compiled code"),
    (FALSE, "decide +native", "'native'"),
    (FALSE, "exact Lean.ofReduceBool _ _ rfl", "'Lean.ofReduceBool'"),
    (FALSE, "run_tac Lean.Elab.Tactic.closeMainGoal default", "'run_tac' runs a metaprogram"),
    (FALSE, "exact by_elab default", "'by_elab'"),
    (FALSE, "exact x\nrun_cmd Lean.logInfo m!\"hi\"", "'run_cmd'"),
    (FALSE, "exact x\nelab \"cheat\" : tactic => pure ()", "'elab'"),
    (FALSE, "exact x\nmacro \"cheat\" : tactic => `(tactic| trivial)", "'macro'"),
    (FALSE, "exact x\nmacro_rules | `(tactic| trivial) => `(tactic| rfl)", "'macro_rules'"),
    (FALSE, "exact x\nnotation \"cheat\" => True", "'notation'"),
    (FALSE, "exact x\nlocal notation \"cheat\" => True", "'notation'"),
    (FALSE, "exact x\nsyntax \"cheat\" : tactic", "'syntax'"),
    (FALSE, "attribute [simp] foo in\n  simp", "'attribute'"),
    (FALSE, "exact x\nvariable (h : False)", "'variable'"),
    (FALSE, "exact x\nuniverse u", "'universe'"),
    (FALSE, "exact x\ninitialize pure ()", "'initialize'"),
    (FALSE, "exact x\nderiving instance Repr for False", "'deriving'"),
    (FALSE, "theorem cheat2 : False := by exact cheat", "renamed theorem"),
    (FALSE, "theorem cheat : True := trivial", "restated theorem differs"),
    (FALSE, "theorem cheat : False", "without ':='"),
    (HARD, "theorem hard (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b := by\n  nlinarith\naxiom x : False", "'axiom'"),
    (FALSE, "", "empty proof"),
    (FALSE, ":=", "empty proof after ':='"),
]


@pytest.mark.parametrize("statement,proof,reason", CHEATS, ids=[c[1][:40] for c in CHEATS])
def test_cheats_are_rejected_with_a_reason(statement, proof, reason):
    with pytest.raises(GuardRejection) as rejected:
        proof_command(statement, "import Mathlib", proof, allow_native=False)
    assert reason in str(rejected.value)


def test_references_to_the_theorem_itself_are_found():
    assert guard.mentions("exact ex", "ex") and guard.mentions("exact ex.elim", "ex")
    assert guard.mentions("exact «bar» 1", "Foo.bar") and guard.mentions("apply Foo.bar", "Foo.bar")
    assert not guard.mentions("exact exfalso -- ex", "ex") and not guard.mentions('simp [show "ex" = "ex" from rfl]', "ex")


def test_native_decide_only_when_configured():
    assert proof_command(FALSE, "", "native_decide", allow_native=True) == "theorem cheat : False := by\n  native_decide"
    assert proof_command(FALSE, "", "decide +native", allow_native=True).endswith("decide +native")
    with pytest.raises(GuardRejection, match="PROOFSMITH_LEAN_ALLOW_NATIVE_DECIDE"):
        guard.check_code("native_decide", allow_native=False, what="tactic")


HONEST = [
    (HARD, "nlinarith [sq_nonneg (a - b)]", "theorem hard (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b := by\n  nlinarith [sq_nonneg (a - b)]"),
    (HARD, "by nlinarith [sq_nonneg (a - b)]", "theorem hard (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b := by nlinarith [sq_nonneg (a - b)]"),
    (HARD, ":= by\n  nlinarith [sq_nonneg (a - b)]", "theorem hard (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b := by\n  nlinarith [sq_nonneg (a - b)]"),
    (FALSE, ":= absurd rfl (by decide)", "theorem cheat : False := absurd rfl (by decide)"),
    (FALSE, "  intro h\n  exact h'", "theorem cheat : False := by\n  intro h\n  exact h'"),
    (FALSE, "-- no sorry here, and no #exit\nsimp", "theorem cheat : False := by\n  -- no sorry here, and no #exit\n  simp"),
    (FALSE, '/- sorry /- nested -/ axiom -/ simp [show "sorry" = "sorry" from rfl]', None),
    (FALSE, "exact r#\"axiom \"sorry\"\"#.length", None),
    (FALSE, "exact 'a'.toNat", None),
    (FALSE, "obtain ⟨x, hx⟩ := h\nrcases hx with ⟨a, b⟩", None),
    (FALSE, "set_option maxHeartbeats 400000 in\nnlinarith [sq_nonneg (x - 1)]", None),
    (FALSE, "open Real in\nsimp [Real.sqrt_eq_iff]", None),
    (FALSE, "calc (1 : ℕ) = 1 := rfl\n  _ = 1 := rfl", None),
    (FALSE, "exact (Nat.lt_irrefl _ ‹_›).elim", None),
    (FALSE, "decide", None),
    (FALSE, "simp_all [Nat.sub_eq_iff_eq_add, Finset.sum_range_succ]", None),
    (FALSE, "theorem cheat : False := by\n  simp", "theorem cheat : False := by\n  simp"),
    (FALSE, "/-- doc -/\ntheorem  cheat :\n  False := by simp", "theorem cheat : False := by simp"),
]


@pytest.mark.parametrize("statement,proof,command", HONEST, ids=[h[1][:40] for h in HONEST])
def test_honest_proofs_pass(statement, proof, command):
    built = proof_command(statement, "import Mathlib", proof, allow_native=False)
    if command is not None:
        assert built == command
    assert built.startswith(statement.text + " := ")


def test_every_goedel_proof_passes_as_a_restated_whole_file():
    """The 100 Goedel-Prover files the Kimina server checked: header + theorem + proof, restated
    in full. Each must pass the guard and become exactly its own theorem command."""
    files = sorted(KIMINA_INPUTS.glob("*.lean"))
    assert len(files) == 102
    for path in files:
        text = path.read_text()
        at = text.index("\ntheorem ") + 1
        header, declaration = text[:at], text[at:]
        signature, body = declaration.split(":=", 1)
        statement = parse_statement(signature)
        command = proof_command(statement, header, text, allow_native=False)
        assert command == f"{statement.text} := {body.strip()}", path.name


def test_restated_proof_after_a_different_header_is_a_restatement_error():
    header = "import Mathlib\nopen Real"
    sneaky = "import Mathlib\nopen Real\naxiom cheat_ax : False\ntheorem cheat : False := cheat_ax"
    with pytest.raises(GuardRejection, match="'axiom'"):
        proof_command(FALSE, header, sneaky, allow_native=False)


# ---------------------------------------------------------------- statements


@pytest.mark.parametrize(
    "statement,keyword,name",
    [
        ("theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130) = 20", "theorem", "mathd_algebra_10"),
        ("theorem amc12_2000_p5 (x p : ℝ) (h₀ : x < 2) :\n    x - p = 0 := by", "theorem", "amc12_2000_p5"),
        ("/-- doc -/\n@[simp] private theorem Foo.bar : True :=", "theorem", "Foo.bar"),
        ("lemma l (n : ℕ) (h : n = 1 := by simp) : n = 1", "lemma", "l"),
        ("example : 1 = 1", "example", None),
        ("def f : Nat", "def", "f"),
    ],
)
def test_statements_parse(statement, keyword, name):
    parsed = parse_statement(statement)
    assert (parsed.keyword, parsed.name) == (keyword, name)
    assert ":=" not in parsed.text.splitlines()[-1][-4:]


def test_escaped_names_keep_their_escapes_where_lean_reads_them():
    parsed = parse_statement("theorem Foo.«my thm» (n : ℕ) : n = n")
    assert parsed.name == "Foo.my thm" and parsed.written_name == "Foo.«my thm»"
    assert parsed.print_axioms == "#print axioms Foo.«my thm»"
    assert parse_statement("lemma «a b» : True").print_axioms == "#print axioms «a b»"
    assert parse_statement("theorem t : True").print_axioms == "#print axioms t"


@pytest.mark.parametrize(
    "statement,reason",
    [
        ("hello world", "must start with"),
        ("theorem", "no name"),
        ("theorem t : True := trivial", "stop before ':='"),
        ("theorem t : True\naxiom a : False", "second command 'axiom'"),
        ("theorem t : True\n#exit", "second command '#exit'"),
        ("theorem t : True /- open", "unterminated"),
    ],
)
def test_bad_statements_are_rejected(statement, reason):
    with pytest.raises(GuardRejection, match=reason):
        parse_statement(statement)


# ---------------------------------------------------------------- axioms


def info(text: str) -> Message:
    return Message(severity="info", pos={"line": 1, "column": 0}, data=text)


def test_print_axioms_answers_in_lean_wording():
    """Wording from Lean's src/Lean/Elab/Print.lean (printAxiomsOf)."""
    messages = [
        info("Try this: ring_nf"),
        info("'Foo.bar' depends on axioms: [Classical.choice,\n propext,\n Quot.sound]"),
    ]
    assert guard.printed_axioms(messages, "bar") == ["Classical.choice", "propext", "Quot.sound"]
    assert guard.printed_axioms(messages, "Foo.bar") == ["Classical.choice", "propext", "Quot.sound"]
    assert guard.printed_axioms(messages, "baz") is None
    assert guard.printed_axioms([info("'t' does not depend on any axioms")], "t") == []
    assert guard.printed_axioms([info("'t' depends on axioms: [sorryAx]")], "t") == ["sorryAx"]
    warning = Message(severity="warning", pos={"line": 1, "column": 0}, data="'t' does not depend on any axioms")
    assert guard.printed_axioms([warning], "t") is None


def test_allowed_axioms():
    allowed = ["propext", "Classical.choice", "Quot.sound"]
    assert guard.disallowed_axioms(["propext", "Quot.sound"], allowed, frozenset(), False) == []
    assert guard.disallowed_axioms(["sorryAx", "propext"], allowed, frozenset(), False) == ["sorryAx"]
    native = ["Lean.ofReduceBool", "Lean.trustCompiler"]
    assert guard.disallowed_axioms(native, allowed, frozenset(), False) == native
    assert guard.disallowed_axioms(native, allowed, frozenset(), True) == []
    header = guard.declared_axioms("import Mathlib\nnamespace P\naxiom f_spec : ∀ x, f x = 2\n-- axiom fake : False\nend P")
    assert header == {"f_spec"}
    assert guard.disallowed_axioms(["P.f_spec", "fake"], allowed, header, False) == ["fake"]
    assert guard.disallowed_axioms(["Mathlib.anything"], ["Mathlib.*"], frozenset(), False) == []
