"""`proofsmith synth mutate` as a new user meets it: parents picked by file or area, progress on a pipe,
zero verified mutants as a result, and why a small corpus has no val/test mutants. Real Coq."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.coq

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mutation"


def _mutate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proofsmith.cli", "synth", "mutate", "--trace", str(FIXTURE),
                           "--workers", "1", "--out", str(tmp_path / "m.jsonl"), *args],
                          capture_output=True, text=True, timeout=600)


def test_zero_verified_mutants_is_a_result_with_its_funnel(tmp_path):
    done = _mutate(tmp_path, "--area", "Lists", "--limit", "6")
    assert done.returncode == 0, done.stderr[-1500:]
    assert "6 of 102 theorems to mutate (first: Coq.Lists.List.nil_cons)" in done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["rule", "theorems", "attempts"]  # the funnel
    assert "total           6" in done.stdout
    assert "no verified mutant from these 6 theorems" in done.stderr and "--area Lists, Init" in done.stderr
    # the progress bars reach a pipe too, from the premise index on
    assert "premise index: 100%" in done.stderr and "mutate: 100%" in done.stderr


def test_files_picks_parents_and_a_small_corpus_says_why_it_has_no_test_mutants(tmp_path):
    done = _mutate(tmp_path, "--files", "theories/Init/*.v", "--limit", "3")
    assert done.returncode == 0, done.stderr[-1500:]
    assert "3 of 102 theorems to mutate (first: Coq.Init.Peano.pred_Sn)" in done.stderr
    assert "(train 1, val 0, test 0)" in done.stdout
    assert "no val and no test mutants: a mutant goes to its parent theorem's part" in done.stderr
    assert "come from 1 parent(s)" in done.stderr


def test_an_area_or_glob_that_matches_nothing_is_named(tmp_path):
    done = _mutate(tmp_path, "--area", "Reals")
    assert done.returncode == 2 and "--area Reals: no theorem in that area; areas: Lists, Init" in done.stderr
    done = _mutate(tmp_path, "--files", "theories/Nope/*.v")
    assert done.returncode == 2 and "--files theories/Nope/*.v: no theorem of the trace" in done.stderr
    assert "Traceback" not in done.stderr
