"""Expert iteration with self-play conjecturing (`proofsmith iterate`), above eval in the layers.

run (the rounds) -> stages (skip/resume/mark) over pools, conjecturing + symbolic, tracing, memory,
training, heldout, metrics; config (pydantic), layout (file names), records (typed stage records),
plan (--dry-run), report and ablation (reading a run's files).
"""
