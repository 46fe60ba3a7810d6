"""Tactic generators, best-first search, whole-proof sampling, provers by name, generator training (SFT)."""
