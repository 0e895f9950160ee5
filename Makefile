# The two set-up commands of the README. Both create .venv on a fresh machine and reuse it while
# pyproject.toml is unchanged. torch and torchvision are pinned as a pair (2.14.1 / 0.29.1):
# transformers' GLM-4.1V video processor needs torchvision, and this pair loads together on CPU.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.thinkvl-installed

.PHONY: demo test install browser postgres clean

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

# The annotation tests also run against PostgreSQL when Debian's server binaries are installed
# (they start a throw-away cluster in a temporary folder); without them those cases are skipped.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || \
	   echo "postgresql not installed: the annotation tests' PostgreSQL cases will be skipped")

test: $(STAMP) browser postgres
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
