"""The F* candidate guard: cheats it must refuse (with the reason) and honest definitions it must pass.

The honest candidates are every definition F* accepted in the recorded
transcripts (successful pushes of a `let`), plus the upstream test file
Harness.fst's own definitions. Each is passed on unchanged.
"""

import json

import pytest

from proofsmith.checker.fstar.guard import GuardRejection, check_candidate
from proofsmith.checker.fstar.syntax import parse_val
from proofsmith.checker.fstar.target import target_of
from proofsmith.checker.types import Source, Theorem

from .fstar_replay import FIXTURES, recorded_pair, transcripts


def scratch(name: str, statement: str = "", header: str = "module Backtracking\n"):
    return target_of(Theorem(name, statement, header, backend="fstar"))


def recorded_definitions() -> list[tuple[str, str]]:
    """(module, code) of every successful push of a definition in the recordings."""
    found = {}
    for pair in transcripts():
        for step in recorded_pair(*pair):
            request = step["request"]
            answers = [r for r in step["replies"] if isinstance(r, dict) and r.get("kind") == "response"]
            if request["query"] != "push" or not answers or answers[-1]["status"] != "success":
                continue
            code = request["args"]["code"]
            if "let " not in code or code.lstrip().startswith("module"):
                continue
            module = pair[0].name.split(".")[0]
            found[(module, code)] = None
    return list(found)


HONEST = recorded_definitions()


def defined_name(code: str) -> str:
    words = code.replace("(", " ").split()
    return words[words.index("let") + 1 + (words[words.index("let") + 1] == "rec")].rstrip(":")


def test_there_are_enough_recorded_honest_definitions():
    assert len(HONEST) >= 10


@pytest.mark.parametrize("module,code", HONEST, ids=[c.strip().splitlines()[-1][:40] for _, c in HONEST])
def test_recorded_successful_pushes_pass_unchanged(module, code):
    target = scratch(f"{module}.{defined_name(code)}", header=f"module {module}\n")
    assert check_candidate(target, code).code == code


HARNESS = (FIXTURES / "emacs" / "Harness.fst").read_text()
HARNESS_DEFINITIONS = ["let bar (x z : nat) = exists (y:nat) (w:nat). z*y = x*w",
                       "private let aux (x z : nat) : Lemma (bar x z) =\n  introduce exists y w. z*y = x*w with x z and ()",
                       "let foo (x : nat) : prop = forall z. bar x z",
                       "let always_foo x : Lemma (foo x) =\n  introduce forall z. bar x z with aux x z"]


@pytest.mark.parametrize("code", HARNESS_DEFINITIONS)
def test_the_upstream_test_files_own_definitions_pass(code):
    assert code in HARNESS
    name = defined_name(code.replace("private ", ""))
    target = target_of(Theorem(f"Harness.{name}", "", "", backend="fstar", source=Source(path="tests/ide/emacs/Harness.fst")))
    assert check_candidate(target, code).code == code


HONEST_SHAPES = [
    ("a", "let a = 1 // admit would be a cheat, but this is a comment"),
    ("a", 'let a = "admit (* not a comment *)"'),
    ("a", "let a = let open FStar.Seq in length (empty #int)"),
    ("a", "let rec a (x:nat) : nat = if x = 0 then 0 else a (x - 1)"),
    ("a", "let a = let rec f (x:nat) : nat = if x = 0 then 0 else g (x - 1)\n        and g (x:nat) : nat = f x in f 3"),
    ("a", "inline_for_extraction noextract\nlet a = 1"),
    ("a", '[@@ "opaque_to_smt"]\nlet a = 1'),
    ("a", "let a = 'x'"),
    ("a", "let a (#t:Type) (x:t) : t = x"),
    ("a", "let a = (* (* nested *) comment *) 1"),
    ("a", "let a = ( * ) 2 3"),
    ("op_Plus_Hat", "let ( +^ ) (x y : int) : int = x + y"),
    ("a", "let a : nat = begin let x = 1 in x end"),
    ("a", "let a (x: nat) : Lemma (x + 0 == x) =\n  assert (x + 0 == x) by (FStar.Tactics.V2.trefl ())"),
]


@pytest.mark.parametrize("name,code", HONEST_SHAPES)
def test_honest_shapes_pass(name, code):
    assert check_candidate(scratch(f"Backtracking.{name}"), code).code == code


def test_a_restated_val_is_dropped_and_a_copied_header_is_stripped():
    statement = "val a : a:nat{a > 0}"
    target = scratch("Backtracking.a", statement)
    restated = check_candidate(target, "val a : a:nat { a > 0 }  (* same *)\nlet a = 1\n")
    assert restated.restated and restated.code == "let a = 1\n"
    fib = [json.loads(line) for line in (FIXTURES / "emacs" / "Fib.compute.in").read_text().splitlines()][0]
    code = fib["args"]["code"]  # "module Fib\nlet rec fib n = ..." (recorded, accepted by F*)
    candidate = check_candidate(target_of(Theorem("Fib.fib", "", "module Fib\n", backend="fstar")), code)
    assert candidate.code.lstrip().startswith("let rec fib n") and "module" not in candidate.code
    assert parse_val(statement).type == "a:nat{a > 0}"


CHEATS = [
    ("let a = admit ()", "admits"),
    ("let a : nat = Prims.admit ()", "admits"),
    ("let a : squash False = admitP False", "admits"),
    ("let a = magic ()", "magic"),
    ("let a : nat = unsafe_coerce (-1)", "unsafe_coerce"),
    ("let a (x:nat) : Lemma (x > 100) = assume (x > 100)", "assumes"),
    ("assume val a : nat", "assumes"),
    ("let a : nat = synth_by_tactic (fun () -> tadmit ())", "admits"),
    ("let a (x:nat) : Lemma (x > 100) = assert (x > 100) by (FStar.Tactics.V2.tadmit_t ())", "admits"),
    ("let a (x:nat) : Lemma (x > 100) = assert (x > 100) by (set_options opts)", "set_options"),
    ("let a (x:nat) : Lemma (x > 100) = assert (x > 100) by (set_guard_policy Drop; smt ())", "discards proof obligations"),
    ('let a (x:nat) : Lemma (x > 100) = assert (x > 100) by (set_options "--admit_smt_queries true")', "option"),
    ('#set-options "--admit_smt_queries true"\nlet a : nat = -1', "option"),
    ("#push-options\nlet a : nat = -1", "pragma"),
    ("#reset-options\nlet a : nat = -1", "pragma"),
    ("#restart-solver\nlet a = 1", "pragma"),
    ("#lang-pulse\nlet a = 1", "pragma"),
    ("[@@expect_failure]\nlet a : nat = -1", "expect_failure"),
    ("[@@ expect_lax_failure [19]] let a : nat = -1", "expect_lax_failure"),
    ("[@@admit_termination]\nlet rec a (x:nat) : nat = a x", "admit"),
    ("let a = 1\nlet b = 2", "second top-level"),
    ("let a = 1\n\n[@@ \"opaque_to_smt\"] private let b : False = b", "second top-level"),
    ("let rec a (x:nat) : nat = b x\nand b (x:nat) : nat = a x", "mutual"),
    ("let a = 1 and b = 2", "second name"),
    ("let a = 1\nval b : nat", "val"),
    ("val b : nat\nlet a = 1", "val"),
    ("let a = 1\ntype t = | C", "declares a type"),
    ("let a = 1\nnoeq type t = | C", "declares a type"),
    ("let a = 1\nopen FStar.Tactics", "opens a module"),
    ("module S = FStar.Seq\nlet a = 1", "module"),
    ("module Other\nlet a = 1", "module"),
    ("friend Backtracking\nlet a = 1", "friend"),
    ("include FStar.Seq\nlet a = 1", "includes"),
    ("let b = 1", "defines 'b', not 'a'"),
    ("let (a, b) = (1, 2)", "pattern"),
    ("let a, b = 1, 2", "tuple"),
    ("let a = 1 in ()", "local binding"),
    ("%splice[b] (fun () -> quote ())\nlet a = 1", "splice"),
    ("instance c : hasEq int = ()\nlet a = 1", "instance"),
    ("exception Boom\nlet a = 1", "exception"),
    ("class c = { x : int }\nlet a = 1", "type class"),
    ("new_effect PURE2 = PURE\nlet a = 1", "effect"),
    ("let a : nat = (* hidden? *) admit ()", "admits"),
    ('let a = "(*" ^ (admit ())', "admits"),  # a comment opener in a string hides nothing
    ("let a = '\"' ; admit ()", "admits"),  # nor does a quote in a char literal
    ("let a = (*) 1 2 ; admit ()", "admits"),  # `(*)` is read as code, never as a comment
    ("let a = 1 (* never closed", "unterminated comment"),
    ('let a = "never closed', "unterminated string"),
    ("   \n  ", "empty candidate"),
    ("(* only a comment *)", "starts with 'nothing'"),
]


def test_there_are_enough_cheats():
    assert len(CHEATS) >= 30


@pytest.mark.parametrize("code,reason", CHEATS, ids=[c[:40] for c, _ in CHEATS])
def test_cheats_are_rejected_with_the_reason(code, reason):
    with pytest.raises(GuardRejection) as rejected:
        check_candidate(scratch("Backtracking.a"), code)
    assert reason in str(rejected.value)


def test_restating_a_different_val_is_rejected():
    target = scratch("Backtracking.a", "val a : a:nat{a > 0}")
    for restated in ["val a : nat\nlet a = 1", "val a : a:nat{a >= 0}\nlet a = 0"]:
        with pytest.raises(GuardRejection, match="restates the val differently"):
            check_candidate(target, restated)
