#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test (CTest: GoogleTest and the
# scripts' pytest suite; Chromium for the report.html test is installed first; the CPU-runtime
# tests once, under memcheck where it is built), then builds the host code again with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs the CPU tests under them (the longest
# ones another pass covers are named below). Between the two, scripts/fuzz.sh runs every fuzz
# target. GPU tests report "skipped" where there is no GPU.
#   TCONV_SANITIZERS=0   skip the sanitizer build (e.g. on a laptop, for a quick run)
#   SANITIZE_BUILD_DIR   its build folder (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# Each stage's wall time, so that CI's budget (DEVELOPERS.md: 45 minutes) is spent knowingly.
stage_start=$SECONDS
stage_done() { echo "test.sh: $1 took $((SECONDS - stage_start)) s"; stage_start=$SECONDS; }
scripts/bootstrap.sh --build
stage_done "bootstrap and build"
# Headless Chromium for the report.html test (tests/scripts/test_report_in_browser.py), which
# reports skipped without it; only the tests need it, so bootstrap.sh does not install it.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi; }
  echo "test.sh: installing chromium (the report.html browser test)"
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; } \
    || echo "test.sh: chromium did not install; the browser test will report skipped" >&2
fi
# The CPU-runtime tests (tests/test_cpu_run_*.cpp, suites CpuRun*) are built twice here: plainly
# and, where GCC built the memcheck binary, as mem.CpuRun* with every access of the kernels
# checked and the same assertions. Where the mem.* twins exist, only they run.
main_exclude=()
listing=$(ctest --test-dir "$BUILD_DIR" -N)
if grep -Eq 'Test +#[0-9]+: mem\.' <<<"$listing"; then
  main_exclude=(-E '^(Dtypes/)?CpuRun')
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "${main_exclude[@]}"
stage_done "tests"

# Every fuzz target for a bounded time (FUZZ_SECONDS each, default 10; two at a time), with AddressSanitizer and
# UndefinedBehaviorSanitizer and a memory limit; its seeds and saved findings also ran above, in
# the FuzzRegressions tests (docs/fuzzing.md).
scripts/fuzz.sh
stage_done "fuzzing"

if [ "${TCONV_SANITIZERS:-1}" != 0 ]; then
  san_dir=${SANITIZE_BUILD_DIR:-build-asan}
  echo "test.sh: AddressSanitizer + UndefinedBehaviorSanitizer build in $san_dir"
  # PTX only (90-virtual): the CPU tests run no device code, and skipping the machine-code
  # generation roughly halves the CUDA compile time of this second build.
  launcher=()
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  # -O1, as the sanitizers' documentation recommends: at -O3 their instrumentation of the
  # template-heavy test files costs minutes of compile time each. Without the CUTLASS rows
  # (TCONV_CUTLASS=OFF): their translation units are the slowest to compile, they run no code on
  # the CPU, and the main build's tests already execute their host mapping.
  cmake -S . -B "$san_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90-virtual \
        -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CUDA_FLAGS_RELEASE="-O1 -DNDEBUG" \
        -DTCONV_SANITIZE=address,undefined -DTCONV_CUTLASS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$san_dir" -j "$(nproc)"
  stage_done "sanitizer build"
  # protect_shadow_gap=0: the CUDA driver, where there is one, maps memory where ASan's shadow
  # gap would be. halt_on_error: the first report fails the test.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-protect_shadow_gap=0:detect_leaks=1:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # Every CPU test (GoogleTest; the scripts' pytest suite runs Python and is not re-run here),
  # except, to keep CI within its time budget, the longest ones another pass already covers:
  # - CpuRunPhaseGemm*, CpuRunAsymmetric.*: not even built here (tests/CMakeLists.txt); the
  #   memcheck binary (mem.*) runs the same tests with every access of the kernels bounds-checked;
  # - PhaseGemmKernels.TensorCoreBf16*: the bf16 instantiations share every index computation
  #   and tile configuration with the fp16 ones, which run here (only the element conversion and
  #   the mma.sync type differ);
  # - PhaseSm90Map.EveryBuiltinShape*: host arithmetic the random PhaseSm90Map problems run
  #   here as well.
  ctest --test-dir "$san_dir" --output-on-failure -j "$(nproc)" -LE gpu \
        -E '^scripts\.|^PhaseGemmKernels\.TensorCoreBf16|^PhaseSm90Map\.EveryBuiltinShape'
  stage_done "sanitizer tests"
fi
