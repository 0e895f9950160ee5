# The two set-up commands of the README. Both create .venv on a fresh machine and reuse it while
# pyproject.toml is unchanged. torch and torchvision are pinned as a pair (2.14.1 / 0.29.1):
# transformers' GLM-4.1V video processor needs torchvision, and this pair loads together on CPU.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.thinkvl-installed

.PHONY: demo test install browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/thinkvl demo

# The report's page is tested in Debian's Chromium (Playwright drives it; no browser download).
browser:
	@test -x /usr/bin/chromium || command -v chromium >/dev/null || \
	  (command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	   echo "chromium not installed: the report's browser tests will be skipped")

test: $(STAMP) browser
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
