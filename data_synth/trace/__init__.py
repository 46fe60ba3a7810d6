"""Tracing Coq libraries: premises, imports and tactic-level proofs, written as a LeanDojo-style benchmark.

`runner.trace` is the entry point (`proofsmith trace` is a thin shell over it).
"""
