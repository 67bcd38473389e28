# One command each: `make test` (the whole suite, what CI runs), `make demo`, `make dev`.
# Both set up what they need first: a tools venv with tox, and the pyenv Pythons
# (3.6 = dom0's Python, 3.13 = the newest, 3.11 = XenServer 9's) on PATH for tox.
SHELL := /bin/bash
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PY36_BIN := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.6*/bin))
PY313_BIN := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin))
PY311_BIN := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.11*/bin))
TOX_PATH := $(PY36_BIN):$(PY313_BIN):$(PY311_BIN):$(PATH)
TOOLS := .venv-tools
TOX := PATH=$(TOX_PATH) $(TOOLS)/bin/tox

.PHONY: test lint clean

# The tools venv comes from pyenv's 3.13 (a bare system python3 may lack venv).
$(TOOLS)/bin/tox:
	$(if $(PY313_BIN),$(PY313_BIN)/python3,python3) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q 'tox<4.5' 'virtualenv<20.22'

test: $(TOOLS)/bin/tox
	@test -x "$(PY36_BIN)/python3.6" || { echo "Python 3.6 not found under $(PYENV_ROOT)/versions (pyenv install 3.6.15)"; exit 1; }
	@test -x "$(PY313_BIN)/python3.13" || { echo "Python 3.13 not found under $(PYENV_ROOT)/versions (pyenv install 3.13.0)"; exit 1; }
	@test -x "$(PY311_BIN)/python3.11" || { echo "Python 3.11 not found under $(PYENV_ROOT)/versions (pyenv install 3.11.7)"; exit 1; }
	$(TOX) -e py36,py313,xs9,lint

lint: $(TOOLS)/bin/tox
	$(TOX) -e lint

clean:
	rm -rf $(TOOLS) .tox build $(VENV)

# A virtual environment with exactly the dependency versions the RPM ships
# (rpm/requirements.txt), for the demo, the simulator and running csguard by hand.
VENV ?= .venv
$(VENV)/.installed: rpm/requirements.txt
	python3 -m venv $(VENV)
	@# Python 3.6's own pip (18) cannot take today's wheels; 21.3.1 is the last for 3.6.
	if $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info >= (3, 7))'; then \
	  $(VENV)/bin/python -m pip install -q 'pip==21.3.1'; fi
	$(VENV)/bin/pip install -q -r rpm/requirements.txt
	touch $@

.PHONY: dev demo
dev: $(VENV)/.installed
	@echo "ready: $(VENV)/bin/python, with PYTHONPATH=dom0-plugin:tests"

demo: $(VENV)/.installed
	PYTHONPATH=dom0-plugin:tests $(VENV)/bin/python -m demo

.PHONY: rpm
rpm:
	rpm/build.sh

# The benchmark (about 6 minutes): daemons run under the tox envs' Python 3.6 and
# 3.13; prints a table and writes bench-results.json.
.PHONY: bench
bench: $(TOOLS)/bin/tox
	$(TOX) -e py36,py313 --notest
	PYTHONPATH=dom0-plugin:tests python3 -m bench --out bench-results.json
