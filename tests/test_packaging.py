"""The distribution installs one package, `proofsmith`, assembled from the top-level folders.

The root proofsmith/ folder is the real package: it holds a relative symlink to
each top-level package folder (proofsmith/checker -> ../checker, ...), so Python
run from the root, pyright, ruff and import-linter read it as a plain folder; a
wheel copies the files behind the links.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import proofsmith

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "proofsmith"
NOT_PACKAGED = {"tests", "proofsmith"}  # tests stay out; proofsmith is the package itself


def _top_level_packages() -> set[str]:
    return {p.name for p in ROOT.iterdir()
            if p.is_dir() and not p.is_symlink() and (p / "__init__.py").is_file() and p.name not in NOT_PACKAGED}


def test_the_package_links_every_top_level_package_folder_and_holds_nothing_else():
    folders = _top_level_packages()
    assert {"formats", "checker", "retrieval", "prover", "data_synth", "eval", "iterate", "cli"} <= folders
    links = {p.name: os.readlink(p) for p in PACKAGE.iterdir() if p.is_symlink()}
    assert links == {name: f"../{name}" for name in folders}  # relative, so a clone anywhere works
    files = {p.name for p in PACKAGE.iterdir() if not p.is_symlink() and p.name != "__pycache__"}
    assert files == {"__init__.py", "py.typed"}
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "package-dir" not in setuptools and setuptools["packages"]["find"]["include"] == ["proofsmith*"]


def test_the_installed_package_is_the_working_tree_from_any_folder(tmp_path):
    # An editable install that maps proofsmith to the working tree's folder: a module
    # added to a folder is importable at once, with no reinstall.
    check = subprocess.run(
        [sys.executable, "-c", "import proofsmith.checker.parallel as m; print(m.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()) == PACKAGE / "checker" / "parallel.py"
    assert Path(proofsmith.__file__) == PACKAGE / "__init__.py"


def test_pip_install_puts_only_proofsmith_into_site_packages(tmp_path):
    source = tmp_path / "source"  # a copy: building in place would leave build/ in the checkout
    for name in [*_top_level_packages(), "proofsmith"]:
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    assert (source / "proofsmith" / "checker").is_symlink()
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
    package = target / "proofsmith"
    assert not any(p.is_symlink() for p in package.rglob("*"))  # the wheel holds the files themselves
    expected = {str(p.relative_to(ROOT)) for name in _top_level_packages() for p in (ROOT / name).rglob("*.py")
                if "__pycache__" not in p.parts}
    assert expected <= {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert (package / "py.typed").is_file()
    assert (package / "eval" / "data" / "minif2f_coq.jsonl").is_file()
    # the kernel-query plugin is built from its source on first use, so a wheel must carry it
    assert (package / "checker" / "coq" / "kernel_query" / "kernel_query.mlg").is_file()
    check = subprocess.run(
        [sys.executable, "-c", "import proofsmith.cli, proofsmith.checker.coq.session as s; print(s.__file__)"],
        cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()).is_relative_to(target)
