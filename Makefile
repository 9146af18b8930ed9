# ExplainKit — `make run` (demo) and `make test` (whole suite) on a fresh Debian machine with Swift.
SWIFT ?= swift
BUILD_FLAGS ?= -c release
APT_PACKAGES := libopenblas-dev libstb-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test build deps bench clean sync-fixtures

# Installs the system packages that are missing (apt-get update first, only when needed).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --product explain

# The main job: explain the bundled digits with every registered method -> out/demo/grid.png, report.html.
run: build
	$(SWIFT) run $(BUILD_FLAGS) --skip-build explain demo --out out/demo

# Whole suite, in release (numeric code is 30-500x slower in debug); OpenBLAS keeps its own kernel
# choice (EXPLAINKIT_BLAS_CORE=off: the CLI does not name a better one, see Docs/Performance.md).
test: deps
	mkdir -p out
	@if command -v python3 >/dev/null; then python3 Tools/check_sources.py; fi
	$(SWIFT) build $(BUILD_FLAGS) --build-tests
	EXPLAINKIT_BLAS_CORE=off EXPLAINKIT_POISON=1 $(SWIFT) test $(BUILD_FLAGS) --skip-build

bench: build
	$(SWIFT) run $(BUILD_FLAGS) --skip-build explain bench --arch vgg16 --batch 1 --runs 5

# Re-copy ../shared/fixtures into Tests/Fixtures/reference (run when the shared fixtures change).
sync-fixtures:
	Tools/sync_fixtures.sh

clean:
	rm -rf .build out
