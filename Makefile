# newsbeam: the two commands are `make run` and `make test`; both set up .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint clean eval-dedup eval-topics eval-extract eval-agencies report bench plan lock template-metadata

# requirements.lock and the Dataflow image are for this Python.
LOCK_PYTHON := 3.11

$(PY):
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "$(LOCK_PYTHON)" else \
	  "make needs Python $(LOCK_PYTHON), which requirements.lock and the Dataflow image are built for; " \
	  + "$(PYTHON) is " + v + ". Try: make PYTHON=python$(LOCK_PYTHON) ...")'
	$(PYTHON) -m venv $(VENV)

# Stamps re-install when setup.py or the lock changes.  Every install takes
# the pinned versions of requirements.lock, which the Dataflow image installs
# too: tests and workers run the same pipeline packages (the test tools are
# not pinned).
LOCK   := requirements.lock

$(VENV)/.installed-run: setup.py $(LOCK) | $(PY)
	$(PIP) -r $(LOCK) -e .
	touch $@

$(VENV)/.installed-test: setup.py $(LOCK) | $(PY)
	$(PIP) -r $(LOCK) -e '.[test]'
	touch $@ $(VENV)/.installed-run

## run: the pipeline on seeds/ with the DirectRunner, Parquet to out/, summary printed
run: $(VENV)/.installed-run
	$(PY) -m pipeline.run --input seeds/ --output out/ --overwrite

# One pytest worker per core (at most four): whole files go to a worker, so
# a file's emulator, browser or server fixtures start once.
TEST_WORKERS ?= auto
## test: the whole test suite (ruff included), its files spread over the cores (TEST_WORKERS=0: one process)
test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m pytest --numprocesses $(TEST_WORKERS) --maxprocesses 4 --dist loadfile

$(VENV)/.installed-eval: setup.py $(LOCK) | $(PY)
	$(PIP) -r $(LOCK) -e '.[test,eval]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

## eval-dedup: dedup against the labelled rewrites and hard negatives, with three baselines
eval-dedup: $(VENV)/.installed-eval
	$(PY) -m tests.dedup_eval.evaluate --json eval-dedup.json

## eval-topics: topic tagging on the labelled set, development and frozen test parts: accuracy, per-conflict P/R,
## passing mentions, hard negatives, ANT sport/technology/culture/economy through the tagger (../shared/corpora), cost
eval-topics: $(VENV)/.installed-test
	$(PY) -m tests.topics_eval.evaluate --json eval-topics.json

## eval-agencies: wire-agency attribution against 140 articles labelled by reading (development and frozen test parts)
eval-agencies: $(VENV)/.installed-test
	$(PY) -m tests.agencies_eval.evaluate --json eval-agencies.json

## report: the pipeline on a fixed week of ANT articles from five outlets (../shared/corpora), then report.html
CORPORA ?= ../shared/corpora
report: $(VENV)/.installed-run
	rm -rf .report && mkdir -p .report
	$(CORPORA)/unpack .report/corpora text-ant-arabic-news > /dev/null
	$(PY) -m tests.report_demo.ant_week .report/corpora .report/ant-week.jsonl
	$(PY) -m pipeline.run --input .report/ant-week.jsonl --output .report/out
	$(PY) -m pipeline.cli report .report/out --html report.html

## eval-extract: body, headline, publication day and time against the publishers' ground truth (Zyte benchmark,
## Fundus and trafilatura's pages from ../shared/corpora), beside bare trafilatura, and the per-page cost of extraction
eval-extract: $(VENV)/.installed-test
	$(PY) -m tests.extract_eval.evaluate --json eval-extract.json

$(VENV)/.installed-bench: setup.py $(LOCK) | $(PY)
	$(PIP) -r $(LOCK) -e '.[bench]'
	touch $@ $(VENV)/.installed-run

## bench: throughput next to a bare trafilatura loop, 1 and 2 workers, per-stage ms/doc, peak memory 1x/4x
## (real pages from ../shared/corpora; BENCH_ARGS="--runs 1 --skip_4x" for a quick look)
bench: $(VENV)/.installed-bench
	$(PY) -m bench.run $(BENCH_ARGS)

## plan: translate the streaming Pub/Sub -> GCS job for Dataflow, offline, into plan/
## (PROJECT, REGION, BUCKET, SUBSCRIPTION, ... as for deploy/dataflow/flex.sh; placeholders otherwise)
plan: $(VENV)/.installed-run
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PROJECT=$${PROJECT:-newsbeam-demo} REGION=$${REGION:-europe-west1} \
	  BUCKET=$${BUCKET:-newsbeam-demo-bucket} REPOSITORY=$${REPOSITORY:-newsbeam} \
	  SUBSCRIPTION=$${SUBSCRIPTION:-articles} TAG=$${TAG:-plan} deploy/dataflow/flex.sh plan

## lock: recompile requirements.lock from setup.py (pip-compile, Python 3.11 like the image)
lock: $(VENV)/.installed-run
	$(PIP) 'pip-tools>=7.4'
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file $(LOCK) setup.py

## template-metadata: regenerate deploy/dataflow/metadata.json from the pipeline's flags
template-metadata: $(VENV)/.installed-run
	$(PY) -m pipeline.template --write

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf out/ plan/ .bench/ .report/ report.html .pytest_cache build *.egg-info eval-dedup.json eval-topics.json eval-extract.json eval-agencies.json
