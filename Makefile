# The two commands of the README: `make demo` runs the main job on Coq with the
# bundled data, `make test` runs the test suite. Both set everything up first.
.PHONY: setup demo test test-all

setup:
	@bash .ci/setup

demo: setup
	.venv/bin/proofsmith check --backend coq eval/data/example_proofs.jsonl

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m pytest -q tests

test-all: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m pytest -q --runslow tests
