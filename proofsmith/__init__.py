"""proofsmith: machine theorem proving and verified synthesis.

The code lives in the repository's top-level folders (formats/, checker/,
retrieval/, prover/, data_synth/, eval/, iterate/, cli/); this folder holds a
relative symlink to each, so `proofsmith.checker` is a plain subfolder for
Python, type checkers and linters alike, and a wheel installs only
`proofsmith` (nothing with a generic name lands in site-packages).
"""

__version__ = "0.1.0"
