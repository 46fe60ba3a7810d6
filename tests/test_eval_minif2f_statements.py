"""Every miniF2F-Coq statement that compiled with plain coqc 8.16 also opens under the checker's tactic prelude."""

import pytest

from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.eval.benchmarks import load_benchmark
from proofsmith.eval.benchmarks.system_packages import missing_packages


@pytest.mark.coq
@pytest.mark.slow
@pytest.mark.parametrize("split,usable", [("valid", 236), ("test", 239)])
def test_statements_open_with_the_prelude_exactly_where_the_dataset_says_they_compile(split, usable):
    bench = load_benchmark("minif2f-coq", split)
    if any(missing_packages(p.requires) for p in bench.problems):
        pytest.skip("libcoq-coquelicot is not installed (make setup installs it)")
    failing = set()
    with open_checker("coq", CheckerSettings(workers=1)) as checker, checker.session() as session:
        for problem in bench.problems:
            try:
                session.open(problem.theorem, timeout_s=60)
            except ValueError:
                failing.add(problem.name)
    assert failing == {p.name for p in bench.problems if p.dataset_note is not None}
    assert len(bench.problems) - len(failing) == usable
