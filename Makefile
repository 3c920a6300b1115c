# The README's two commands: `make demo` and `make test`. Both run set-up first (idempotent).
VENV := .venv
PY := $(VENV)/bin/python
LAB ?= /var/tmp/autoverify-lab
DEMO := var/demo

.PHONY: setup demo test lint bench bench-1m docs clean

setup:
	bash tools/setup.sh

demo: setup
	bash tools/demo.sh

test: setup
	$(PY) -m pytest -q -ra --durations=25
	$(VENV)/bin/ruff check .

lint: setup
	$(VENV)/bin/ruff check .
	duplicates || true

bench: setup
	$(PY) bench/inspect_batch.py
	$(PY) bench/ntfs_check.py
	$(PY) bench/ntfs_core_probe.py
	$(PY) bench/ntfs_fuzz.py

bench-1m: setup  # also the peak RSS at 1,000,000 records (builds that volume once: ~10 min)
	$(PY) bench/ntfs_check.py --million

docs: setup
	$(PY) tools/render_findings.py

clean:
	rm -rf var .pytest_cache
