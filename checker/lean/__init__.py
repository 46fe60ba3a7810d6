"""Lean 4 backend: the REPL protocol, REPL processes, the soundness guard and the proof session."""
