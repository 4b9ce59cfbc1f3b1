# newsbeam: the two commands are `make run` and `make test`; both set up .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint clean eval-dedup eval-topics bench

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps re-install when setup.py changes.
$(VENV)/.installed-run: setup.py | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: setup.py | $(PY)
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.installed-run

## run: the pipeline on seeds/ with the DirectRunner, Parquet to out/, summary printed
run: $(VENV)/.installed-run
	$(PY) -m pipeline.run --input seeds/ --output out/ --overwrite

## test: the whole test suite (ruff included)
test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m pytest

$(VENV)/.installed-eval: setup.py | $(PY)
	$(PIP) -e '.[test,eval]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

## eval-dedup: dedup against the labelled rewrites and hard negatives, with three baselines
eval-dedup: $(VENV)/.installed-eval
	$(PY) -m tests.dedup_eval.evaluate --json eval-dedup.json

## eval-topics: topic tagging on the labelled set: accuracy, per-conflict P/R, confusions, hard negatives, cost
eval-topics: $(VENV)/.installed-test
	$(PY) -m tests.topics_eval.evaluate --json eval-topics.json

$(VENV)/.installed-bench: setup.py | $(PY)
	$(PIP) -e '.[bench]'
	touch $@ $(VENV)/.installed-run

## bench: throughput next to a bare trafilatura loop, 1 and 2 workers, per-stage ms/doc, peak memory 1x/4x
## (real pages from ../shared/corpora; BENCH_ARGS="--runs 1 --skip_4x" for a quick look)
bench: $(VENV)/.installed-bench
	$(PY) -m bench.run $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf out/ .bench/ .pytest_cache build *.egg-info eval-dedup.json eval-topics.json
