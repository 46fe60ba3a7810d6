"""Which of the Debian packages a benchmark's headers need are missing on this machine.

Problems whose header needs a missing library do not compile and are reported
unusable; the runner says up front which packages would make them usable.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

_installed: dict[str, bool] = {}


def missing_packages(packages: Iterable[str]) -> list[str]:
    """The packages dpkg says are not installed, in the order given ([] where there is no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return []
    missing = []
    for package in packages:
        if package not in _installed:
            status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True).stdout
            _installed[package] = status.strip().endswith(" installed")
        if not _installed[package] and package not in missing:
            missing.append(package)
    return missing
