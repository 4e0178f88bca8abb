# The two commands of the README:
#   make bench   install what is missing, build, run the main job
#   make test    install what is missing, build, run the whole suite
# Everything comes from Debian packages through scripts/install-deps.

BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
# CI (CI=true) builds with -Werror.
WERROR     ?= $(if $(CI),ON,OFF)
FUZZ_SECONDS ?= 10
RTCELL     := $(BUILD)/src/cli/rtcell

.PHONY: all deps configure build test bench lint format fuzz clean

all: build

deps:
	@./scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DRTCELL_WERROR=$(WERROR) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite: unit + integration tests (root-needing ones skip with a
# reason when not root), lint, and a short run of every fuzz harness.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz

# The main job: the native-vs-cell latency matrix under load (docs/bench.md).
# Rows last 10 s here instead of rtcell bench's 15 s default so that the
# whole matrix (5 to 7 rows) stays under 2 minutes on a small machine.
BENCH_DURATION ?= 10s
BENCH_REPORT   ?= $(BUILD)/bench-report
bench: build
	$(RTCELL) bench --duration $(BENCH_DURATION) --html $(BENCH_REPORT)

lint: configure
	@./scripts/lint

format:
	@./scripts/lint --fix

# libFuzzer harnesses need clang; each runs FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DRTCELL_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@./scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
