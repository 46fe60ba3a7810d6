"""What goes on disk, below every other layer: the JSON Lines policy, LeanDojo splits, mutant and run records."""
