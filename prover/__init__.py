"""Tactic generators, best-first search, whole-proof sampling, training, expert iteration."""
