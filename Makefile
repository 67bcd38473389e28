# One command each: `make test` (the whole suite, what CI runs), `make demo`.
# Both set up what they need first (a tools venv with tox; the pyenv Pythons).
SHELL := /bin/bash
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHONS := $(wildcard $(PYENV_ROOT)/versions/3.6*/bin) $(wildcard $(PYENV_ROOT)/versions/3.13*/bin)
export PATH := $(subst $(eval) ,:,$(PYTHONS)):$(PATH)
TOOLS := .venv-tools

.PHONY: test lint demo rpm bench clean

$(TOOLS)/bin/tox:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q 'tox<4.5' 'virtualenv<20.22'

test: $(TOOLS)/bin/tox
	@command -v python3.6 >/dev/null || { echo "python3.6 not found (pyenv install 3.6.15)"; exit 1; }
	@command -v python3.13 >/dev/null || { echo "python3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(TOOLS)/bin/tox -e py36,py313,lint

lint: $(TOOLS)/bin/tox
	$(TOOLS)/bin/tox -e lint

clean:
	rm -rf $(TOOLS) .tox build
