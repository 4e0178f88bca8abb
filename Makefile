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
# The arm64 cross build (unit tests under qemu-user), the GCC 11 build (the
# Ubuntu 22.04 / JetPack 6 compiler) and the .deb packages (docs/STATUS.md).
CROSS_BUILD ?= build-arm64
GCC11_BUILD ?= build-gcc11
DEB_BUILD   ?= build-deb

.PHONY: all deps configure build test bench lint format fuzz clean cross cross-test gcc11 deb guests

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
	@$(MAKE) --no-print-directory cross-test
	@$(MAKE) --no-print-directory gcc11
	@$(MAKE) --no-print-directory guests

# Everything (rtcell, the libraries, unit and integration tests, probes,
# benchmarks) for arm64 with g++-aarch64-linux-gnu and the :arm64 libraries.
cross: deps
	@command -v aarch64-linux-gnu-g++ >/dev/null || { echo "make cross: no aarch64-linux-gnu-g++: install g++-aarch64-linux-gnu (sudo ./scripts/install-deps)" >&2; exit 1; }
	@command -v qemu-aarch64-static >/dev/null || { echo "make cross: no qemu-aarch64-static: install qemu-user-static (sudo ./scripts/install-deps)" >&2; exit 1; }
	@./scripts/cross-deps
	@cmake -S . -B $(CROSS_BUILD) -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DRTCELL_WERROR=$(WERROR) >/dev/null
	@cmake --build $(CROSS_BUILD) -j $(JOBS)

# The arm64 unit tests, each run by qemu-aarch64-static on this kernel.
cross-test: cross
	@cd $(CROSS_BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

# The GCC 11 promise (docs/errors.md), checked: the product, the libraries
# and the unit tests build with g++-11 and -Werror, and the unit tests pass.
# The integration tests and benchmarks are left to the main build: they add
# build time and test nothing compiler-specific.
GCC11_TARGETS ?= rtcell rtcell_unit_tests rtcell_emit_tests rtcell_probe rtcell-control-loop
gcc11: deps
	@command -v g++-11 >/dev/null || { echo "make gcc11: no g++-11: install g++-11 (sudo ./scripts/install-deps)" >&2; exit 1; }
	@CC=gcc-11 CXX=g++-11 cmake -S . -B $(GCC11_BUILD) -G Ninja -DRTCELL_WERROR=ON >/dev/null
	@cmake --build $(GCC11_BUILD) -j $(JOBS) --target $(GCC11_TARGETS)
	@cd $(GCC11_BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

# The JetPack 6 stand-ins (README "arm64, PREEMPT_RT and cgroup v2 in make
# test"): Debian's PREEMPT_RT kernels for x86-64 and arm64 booted in QEMU
# (TCG) with unified cgroup v2, running tests/guest/tests.txt as root. The
# kernels are downloaded once into GUEST_CACHE. Both guests run even when
# the first fails; each is killed after GUEST_TIMEOUT seconds, so the pair
# never takes more than 2 x GUEST_TIMEOUT. The arm64 guest drives the rtcell
# of the arm64 .deb (`make deb`, a prerequisite), as a user installs it.
GUEST_TIMEOUT ?= 290
GUEST_CACHE   ?= $(abspath $(BUILD))/guests/cache
guests: build cross deb
	@rc=0; deb=$$(ls $(DEB_BUILD)/rtcell_*_arm64.deb 2>/dev/null | head -n 1); \
	tests/guest/run-guest --arch amd64 --build $(BUILD) --cache $(GUEST_CACHE) --timeout $(GUEST_TIMEOUT) || rc=1; \
	tests/guest/run-guest --arch arm64 --build $(CROSS_BUILD) --cache $(GUEST_CACHE) --timeout $(GUEST_TIMEOUT) \
	    $${deb:+--deb $$deb} || rc=1; \
	exit $$rc

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

# Debian packages (scripts/make-deb): rtcell (program, rtcell-runtime, docs)
# and librtcell-rt-dev (library, headers, rtcell-rt.pc) for this machine's
# architecture and for arm64, in $(DEB_BUILD)/, plus each architecture's
# packages unpacked in $(DEB_BUILD)/<arch>/root/ (what the arm64 guest runs).
NATIVE_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
deb: build cross
	@./scripts/make-deb $(NATIVE_ARCH) $(BUILD) $(DEB_BUILD)
	@[ "$(NATIVE_ARCH)" = arm64 ] || ./scripts/make-deb arm64 $(CROSS_BUILD) $(DEB_BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(CROSS_BUILD) build-cross-deps $(GCC11_BUILD) $(DEB_BUILD)
