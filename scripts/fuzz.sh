#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (scripts/test.sh calls it; docs/fuzzing.md):
#   - the libFuzzer targets of fuzz/ (C++ readers: .npy, --shape, shapes files, the results CSV of
#     --resume, both programs' arguments), built with clang, AddressSanitizer and
#     UndefinedBehaviorSanitizer, each first on its seeds and saved findings, then fuzzed;
#   - the atheris targets of fuzz/python/ (shapes_from_onnx.py's model reading, the scripts'
#     results-CSV and shapes-file readers).
# A crash, a sanitizer report, a leak, an uncaught exception, a time-out or an allocation past the
# limit fails the target; the input is left under $FUZZ_BUILD_DIR/artifacts. Where clang with
# libFuzzer (or atheris) cannot be installed, its targets report skipped, never passed.
#   FUZZ_SECONDS     fuzzing time per target (default 10)
#   FUZZ_BUILD_DIR   build folder (default build-fuzz)
#   FUZZ_TARGETS     space-separated subset of the target names (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-10}
bdir=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$bdir"
bdir=$(cd "$bdir" && pwd)
need() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif need sudo; then sudo "$@"; else return 1; fi; }
wanted() { [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $1 "* ]]; }
passed=0 failed=0 skipped=0
failures=()

# Limits: libFuzzer stops a target whose process passes 2 GiB resident or whose single malloc
# passes 256 MiB (no seed or finding is larger than a few kB, so no reader has a reason to ask
# for more), or whose one input takes 10 s.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10)

# run_pairs KIND NAME...: runs run_KIND NAME (defined below) for each name, two at a time (CI has
# two cores), and reports each: passed with its count of inputs, or FAILED with the log's lines
# that say why and where the input was left.
run_pairs() {
  local kind=$1 i=0 k
  shift
  local pending=("$@")
  while [ $i -lt ${#pending[@]} ]; do
    local pids=() names=()
    for _ in 1 2; do
      [ $i -lt ${#pending[@]} ] || break
      "run_$kind" "${pending[$i]}" & pids+=($!); names+=("${pending[$i]}"); i=$((i + 1))
    done
    for k in "${!pids[@]}"; do report "$kind" "${names[$k]}" "${pids[$k]}"; done
  done
}
report() {
  local kind=$1 name=$2 pid=$3 label=$2 log="$bdir/logs/$2.log" art="$bdir/artifacts/$2" how="ASan+UBSan"
  if [ "$kind" = py ]; then
    label=python/$name log="$bdir/logs/py_$name.log" art="$bdir/artifacts/py_$name" how=atheris
  fi
  if wait "$pid"; then
    local runs
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+|Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    echo "fuzz: $label passed (${runs:-?} inputs in ${seconds} s, $how)"
    passed=$((passed + 1))
  else
    echo "fuzz: $label FAILED (log: $log, input: $art/)"
    grep -E 'ERROR|SUMMARY|contract broken|runtime error|uncaught|Uncaught|Error|out-of-memory|malloc' "$log" \
      | head -5 | sed 's/^/    /'
    failed=$((failed + 1)); failures+=("$label")
  fi
}

# ---- C++: clang + libFuzzer --------------------------------------------------------------------
has_libfuzzer() {
  need clang++ && echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
    | clang++ -x c++ -fsanitize=fuzzer,address,undefined -o "$bdir/probe" - >/dev/null 2>&1
}
if ! has_libfuzzer && need apt-get; then
  echo "fuzz.sh: installing clang and its runtime (libFuzzer)"
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null 2>&1 \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null; }; } \
    || echo "fuzz.sh: clang did not install" >&2
fi
cxx_targets=()
for d in fuzz/corpus/*/; do cxx_targets+=("$(basename "$d")"); done
if has_libfuzzer; then
  cmake -S fuzz -B "$bdir/cxx" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir/cxx" -j "$(nproc)" >"$bdir/cxx-build.log" 2>&1 \
    || { cat "$bdir/cxx-build.log" >&2; echo "fuzz.sh: the fuzz targets did not build" >&2; exit 1; }
  run_cxx() {  # target -> exit status; log in $bdir/logs/T.log
    local t=$1
    local work="$bdir/work/$t" art="$bdir/artifacts/$t"
    rm -rf "$work" && mkdir -p "$work" "$art" "$bdir/logs"
    local inputs=(fuzz/corpus/"$t"/*)
    [ -d "fuzz/regressions/$t" ] && inputs+=($(find "fuzz/regressions/$t" -type f | sort))
    {
      # Every seed and saved finding once, then fuzzing from the seeds (new inputs go to $work,
      # never into the repository).
      "$bdir/cxx/fuzz_$t" "${limits[@]}" -artifact_prefix="$art/" "${inputs[@]}" &&
        "$bdir/cxx/fuzz_$t" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 \
          -artifact_prefix="$art/" "$work" "fuzz/corpus/$t"
    } >"$bdir/logs/$t.log" 2>&1
  }
  pending=()
  for t in "${cxx_targets[@]}"; do wanted "$t" && pending+=("$t"); done
  run_pairs cxx "${pending[@]}"
else
  for t in "${cxx_targets[@]}"; do
    wanted "$t" || continue
    echo "fuzz: $t skipped (no clang with libFuzzer here)"
    skipped=$((skipped + 1))
  done
fi

# ---- Python: atheris ---------------------------------------------------------------------------
py_targets=()
for f in fuzz/python/fuzz_*.py; do py_targets+=("$(basename "$f" .py)"); done
if ! python3 -c "import atheris" >/dev/null 2>&1; then
  echo "fuzz.sh: installing atheris"
  python3 -m pip install -q --disable-pip-version-check "$(grep '^atheris' scripts/requirements.txt)" >/dev/null 2>&1 \
    || echo "fuzz.sh: atheris did not install" >&2
fi
if python3 -c "import atheris" >/dev/null 2>&1; then
  run_py() {  # target name -> exit status; log in $bdir/logs/py_NAME.log
    local name=$1
    local work="$bdir/work/py_$name" art="$bdir/artifacts/py_$name"
    rm -rf "$work" && mkdir -p "$work" "$art" "$bdir/logs"
    python3 "fuzz/python/fuzz_$name.py" "${limits[@]}" -max_total_time="$seconds" -artifact_prefix="$art/" \
      "$work" "fuzz/python/corpus/$name" >"$bdir/logs/py_$name.log" 2>&1
  }
  pending=()
  for t in "${py_targets[@]}"; do wanted "${t#fuzz_}" && pending+=("${t#fuzz_}"); done
  run_pairs py "${pending[@]}"
else
  for t in "${py_targets[@]}"; do
    wanted "${t#fuzz_}" || continue
    echo "fuzz: python/${t#fuzz_} skipped (atheris is not installed)"
    skipped=$((skipped + 1))
  done
fi

echo "fuzz: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || { echo "fuzz.sh: failed: ${failures[*]}" >&2; exit 1; }
