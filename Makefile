# The two commands of the README:
#   make demo   set up .venv if missing, compile and run the bundled example
#   make test   set up .venv if missing, run the lit and pytest suites
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fxc-installed

.PHONY: demo test lit bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fxc run examples/quantized_mlp.py

lit: $(STAMP)
	$(VENV)/bin/lit -sv test

test: $(STAMP)
	$(VENV)/bin/lit -sv test
	$(PY) -m pytest -q -n auto --dist loadfile test/python

bench: $(STAMP)
	$(PY) benchmarks/bench_call_overhead.py
	$(PY) benchmarks/bench_int8.py
	$(PY) benchmarks/bench_cpu.py
	$(PY) benchmarks/bench_compile.py
	$(PY) benchmarks/bench_dynamic.py
	$(PY) benchmarks/bench_autocast.py

clean:
	rm -rf $(VENV) build *.egg-info
