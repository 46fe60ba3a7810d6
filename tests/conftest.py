import functools
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


@functools.cache
def _missing_tool(marker: str) -> str | None:
    """Why a test marked `marker` (coq, lean, fstar: pyproject.toml registers them) cannot run here, or None."""
    from proofsmith.checker.settings import CheckerSettings

    settings = CheckerSettings()
    if marker == "coq" and shutil.which(settings.coq_binary) is None:
        return "Coq is not installed (make setup installs it)"
    if marker == "lean" and shutil.which("lake") is None:
        return ("no Lean toolchain here (lake not on PATH): install elan, build leanprover-community/repl, "
                "set PROOFSMITH_LEAN_REPL (README, 'Lean 4')")
    if marker == "fstar" and shutil.which(settings.fstar_binary) is None:
        return (f"no F* here ({settings.fstar_binary} not on PATH): install a release from "
                "github.com/FStarLang/FStar/releases or `opam install fstar` (README, 'F*')")
    return None


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (make test-all)")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        for marker in ("coq", "lean", "fstar"):
            if marker in item.keywords and (reason := _missing_tool(marker)) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


COQ_PROJECT_FIXTURE = Path(__file__).parent / "fixtures" / "coqproject"


@pytest.fixture(scope="module")
def coq_project(tmp_path_factory) -> Path:
    """A copy of tests/fixtures/coqproject with the files Middle.v requires compiled (Middle.v itself never is)."""
    import subprocess

    root = tmp_path_factory.mktemp("coqproject")
    shutil.copytree(COQ_PROJECT_FIXTURE, root, dirs_exist_ok=True)
    for source in ("theories/Base.v", "extra/Util.v"):
        subprocess.run(["coqc", "-Q", "theories", "Proj", "-R", "extra", "Extra", source], cwd=root, check=True)
    return root
