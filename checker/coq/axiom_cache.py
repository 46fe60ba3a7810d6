"""Which axioms each library constant depends on, remembered across runs.

`Print Assumptions` re-traverses every proof behind a constant, so asking it
about each library constant a proof mentions costs seconds the first time.
Library constants cannot change without the Coq installation changing, so
the answers for Coq's own library (`Coq.*`) are kept in a JSON Lines file
keyed by Coq's version, its binary and the load-path flags, appended as they
are learned. Constants of other libraries (which a user may recompile) are
remembered for the life of the process only; constants of the interactive
module (`Top.*`: header definitions) are never stored here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

from proofsmith.formats.json_files import InputFileError, JsonlAppender, get_field, read_jsonl, string_list

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_CACHES: dict[str, LibraryAxiomCache] = {}


class LibraryAxiomCache:
    def __init__(self, path: Path | None):
        self.path = path
        self._axioms: dict[str, frozenset[str]] = {}
        if path is not None:
            try:
                for line, record in read_jsonl(path, missing_ok=True, appended=True):
                    constant = get_field(record, "constant", str, path, line)
                    self._axioms[constant] = frozenset(string_list(record, "axioms", path, line))
            except InputFileError as exc:
                # derived data: a damaged cache is set aside and relearned, never trusted in part
                aside = path.with_suffix(".damaged")
                path.replace(aside)
                log.warning("%s; moved to %s, starting an empty cache", exc, aside)
                self._axioms.clear()

    def get(self, constant: str) -> frozenset[str] | None:
        return self._axioms.get(constant)

    def put(self, constant: str, axioms: frozenset[str]) -> None:
        with _LOCK:
            if constant in self._axioms:
                return
            self._axioms[constant] = axioms
            if self.path is None or not constant.startswith("Coq."):
                return
            with JsonlAppender(self.path) as out:
                out.append({"constant": constant, "axioms": sorted(axioms)})


def library_axiom_cache(cache_dir: Path | None, installation: list[str]) -> LibraryAxiomCache:
    """The cache shared by every session of this process for one Coq installation
    (version, binary, load-path flags); kept on disk under `cache_dir` unless None."""
    # v2: answers resolved with About (v1 trusted Locate's first line)
    key = hashlib.sha256(json.dumps(["v2", *installation]).encode()).hexdigest()[:16]
    with _LOCK:
        if key not in _CACHES:
            path = cache_dir / "coq-axioms" / f"{key}.jsonl" if cache_dir else None
            _CACHES[key] = LibraryAxiomCache(path)
        return _CACHES[key]
