# The two commands of the README: `make demo` runs the main job on Coq with the
# bundled data (the portfolio prover on 60 miniF2F-Coq test problems, about a
# minute on 2 cores; rerunning resumes and just prints the pass rate again),
# `make test` runs the test suite. Both set everything up first. `make check` runs
# the static checks of .ci/run: lint and import order, types, the folder layering.
.PHONY: setup setup-putnam demo test test-all check

PUTNAM_APT = libcoq-coquelicot libcoq-hierarchy-builder libcoq-mathcomp-algebra libcoq-mathcomp-analysis \
	libcoq-mathcomp-fingroup libcoq-mathcomp-finmap libcoq-mathcomp-real-closed libcoq-mathcomp-ssreflect

setup:
	@bash .ci/setup

# The Coq libraries PutnamBench's headers need (proofsmith eval --benchmark putnam-coq).
setup-putnam: setup
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq $(PUTNAM_APT)

demo: setup
	.venv/bin/proofsmith eval --benchmark minif2f-coq --split test --prover portfolio --limit 60 --budget-s 10 --out runs/demo-minif2f-coq-test

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m pytest -q tests

test-all: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m pytest -q --runslow tests

check: setup
	.venv/bin/ruff check .
	.venv/bin/basedpyright
	.venv/bin/lint-imports
