"""proofsmith: machine theorem proving and verified synthesis.

The code lives in the repository's top-level folders (checker/, retrieval/,
prover/, data_synth/, eval/, cli/) and is installed under this one namespace
(`proofsmith.checker`, ...) by a package-dir mapping in pyproject.toml, so
nothing with a generic name lands in site-packages.
"""

__version__ = "0.1.0"
