"""The F* backend against a real `fstar.exe --ide`; skipped, with the reason, where F* is not installed.

Point proofsmith at another executable with PROOFSMITH_FSTAR_BINARY. These
tests re-run, on the real tool, what the replay tests check on recordings:
the upstream Harness test in a file's checked prefix, scratch-module checks,
the interactive API, and the warning number `--report_assumes warn` gives an
assumption (the verdict rules depend on it).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.fstar.process import FStarIde
from proofsmith.checker.fstar.protocol import Push, VfsAdd
from proofsmith.checker.fstar.session import FStarSession, fstar_command
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import ProofFinished, Source, TacticError, Theorem, Verdict

BINARY = CheckerSettings().fstar_binary
EMACS = Path(__file__).parent / "fixtures" / "fstar_ide" / "emacs"

pytestmark = pytest.mark.fstar  # skipped, with the reason, where F* is not on PATH


@pytest.fixture(scope="module")
def settings():
    return CheckerSettings(timeout_s=120, workers=1)


@pytest.fixture(scope="module")
def session(settings):
    try:
        s = FStarSession(settings)
    except CheckerUnavailable as exc:
        pytest.skip(f"F* is on PATH but not usable: {exc}")
    yield s
    s.close()


HEADER = "module Demo\n"


@pytest.mark.parametrize(
    "statement,candidate",
    [
        ("", "let a : a:nat{a > 0} = 1"),
        ("val incr : x:int -> y:int{y > x}", "let incr x = x + 1"),
        ("val add_comm (x y : int) : Lemma (x + y == y + x)", "let add_comm x y = ()"),
        ("", "let rec sum (n:nat) : nat = if n = 0 then 0 else n + sum (n - 1)"),
    ],
)
def test_honest_definitions_are_proved(session, statement, candidate):
    name = candidate.split()[2 if candidate.startswith("let rec") else 1]
    result = session.check(Theorem(f"Demo.{name}", statement, HEADER, backend="fstar"), candidate)
    assert result.verdict is Verdict.PROVED, result.reason


@pytest.mark.parametrize(
    "statement,candidate,number",
    [
        ("", "let a : a:nat{a > 2} = 1", 19),
        ("val incr : x:int -> y:int{y > x}", "let incr x = x", 19),
        ("", "let rec loop (n:nat) : nat = loop n", None),  # termination: F* refuses, the guard cannot see it
        ("val f : nat -> bool", "let f (x:nat) : int = x", None),
    ],
)
def test_wrong_definitions_fail(session, statement, candidate, number):
    name = candidate.split()[2 if candidate.startswith("let rec") else 1]
    result = session.check(Theorem(f"Demo.{name}", statement, HEADER, backend="fstar"), candidate)
    assert result.verdict is Verdict.FAILED, result.reason
    if number is not None:
        assert f"Error {number}" in result.reason


def test_an_assumption_raises_warning_335(settings):
    """With --report_assumes warn, an `assume val` pushed raw (no guard) is reported as warning 335."""
    session = FStarSession(settings)
    ide = FStarIde(session.argv("Raw.fst"), memory_mb=settings.fstar_memory_mb)
    try:
        assert ide.call(VfsAdd(filename=None, contents="module Raw\n"), 60).response.ok
        assert ide.call(Push(kind="full", code="module Raw\n", line=1, column=0), 300).response.ok
        answer = ide.call(Push(kind="full", code="\nassume val cheat : squash False\n", line=2, column=0), 120)
        assert answer.response.ok
        assert [i.number for i in answer.response.issues() if i.level == "warning"] == [335]
    finally:
        ide.kill()


def test_interactive_api(session):
    theorem = Theorem("Demo.double", "val double : x:int -> y:int{y == x + x}", HEADER, backend="fstar")
    root = session.open(theorem)
    assert root.goals[0].target == "x:int -> y:int{y == x + x}"
    assert isinstance(session.run(root, "let double x = x + x + 1"), TacticError)
    assert isinstance(session.run(root, "let double x = 2 * x"), ProofFinished)


@pytest.fixture(scope="module")
def harness_dir(tmp_path_factory):
    """Harness.fst/.fsti, the upstream test file, with its .checked files built by this F*."""
    work = tmp_path_factory.mktemp("harness")
    for name in ("Harness.fst", "Harness.fsti"):
        shutil.copy(EMACS / name, work / name)
    command = [*fstar_command(CheckerSettings()), "--cache_checked_modules", "Harness.fsti", "Harness.fst"]
    built = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        pytest.skip(f"F* could not check Harness.fst here: {built.stdout[-500:]}{built.stderr[-500:]}")
    return work


def test_checked_prefix_as_in_the_upstream_test(harness_dir):
    settings = CheckerSettings(timeout_s=120, workers=1, fstar_cwd=str(harness_dir), fstar_include=[str(harness_dir)])
    theorem = Theorem("Harness.always_foo", "", "", backend="fstar", source=Source(path="Harness.fst"))
    with FStarSession(settings) as session:
        by_smt = session.check(theorem, "let always_foo x : Lemma (foo x) = ()")
        by_itself = session.check(theorem, "let always_foo x : Lemma (foo x) = Harness.always_foo x")
        proof = session.check(theorem, "let always_foo x : Lemma (foo x) =\n  introduce forall z. bar x z with aux x z")
    assert by_smt.verdict is Verdict.FAILED and "Error 19" in by_smt.reason
    assert by_itself.verdict is Verdict.FAILED and "Error 72" in by_itself.reason
    assert proof.verdict is Verdict.PROVED, proof.reason
