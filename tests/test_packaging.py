"""The distribution installs one package, `proofsmith`, mapped from the top-level folders."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["checker", "retrieval", "prover", "data_synth", "eval", "cli"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed_under_the_proofsmith_namespace():
    setuptools = _pyproject()["tool"]["setuptools"]
    found = {"proofsmith"} | {
        "proofsmith." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in FOLDERS for init in (ROOT / folder).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found
    assert setuptools["package-dir"] == {"proofsmith": "proofsmith", **{f"proofsmith.{f}": f for f in FOLDERS}}


def test_pip_install_puts_only_proofsmith_into_site_packages(tmp_path):
    source = tmp_path / "source"  # a copy: building in place would leave build/ in the checkout
    for name in [*FOLDERS, "proofsmith"]:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site-packages"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    installed = sorted(p.name for p in target.iterdir() if p.name != "bin")
    assert installed == ["proofsmith", "proofsmith-0.1.0.dist-info"]
    assert (target / "proofsmith" / "checker" / "coq" / "session.py").is_file()
    assert (target / "proofsmith" / "eval" / "data" / "minif2f_coq.jsonl").is_file()
    check = subprocess.run(
        [sys.executable, "-c", "import proofsmith.cli, proofsmith.checker.coq.session as s; print(s.__file__)"],
        cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()).is_relative_to(target)
