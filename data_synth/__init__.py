"""Data synthesis: proof extraction (tracing), symbolic mutation, conjecturing, augmented corpora."""
