"""Data synthesis: proof extraction (tracing), symbolic mutation, the augmented (mutant) corpus and its benchmark."""
