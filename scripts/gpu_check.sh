#!/usr/bin/env bash
# The first-contact GPU check: turns a few minutes on a fresh GPU machine into the most verified
# truth about this suite. Runs from an unpacked bundle (scripts/bundle.sh) or from a source tree
# with a build (BIN_DIR, default build).
#
#   scripts/gpu_check.sh OUT_DIR
#
# Steps, each with its own time limit; a failed or timed-out step never stops the next:
#   env        GPU, driver, CUDA runtime, the cuBLAS/cuSPARSE/cuDNN files and versions loaded
#   tests      every GPU test (tconv_tests --gtest_filter='Gpu*')
#   memcheck   compute-sanitizer memcheck over a short verify-only run of every kernel of ours
#   racecheck, synccheck   over the kernels with shared memory (phase_gemm, zero_insert_direct)
#   smoke      tconv_bench --suite smoke: every implementation x dtype x layout
#   networks   tconv_bench --suite dcgan --suite networks in fp32, fp16, bf16 (as time allows)
#   peer       scripts/peer_pytorch.py on the same shapes (where torch with CUDA imports)
#   plots      scripts/plot.py: the headline speedup and the roofline
# A device fault stops tconv_bench with exit 4 after writing the faulting row as "failed"; the
# step then continues in a fresh process with --resume, so one fault loses nothing.
#
# Writes at most 8 files into OUT_DIR: summary.md, bench.csv, peer.csv, tests.log,
# sanitizer.log, speedup.png, roofline.png (and nothing else). Total budget: GPU_CHECK_BUDGET_S
# (default 450 s, inside 8 minutes with the summary). Without a GPU it exits 2 within seconds
# with one line.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -eq 1 ] || { echo "usage: scripts/gpu_check.sh OUT_DIR" >&2; exit 1; }
out=$1

if [ -x "$root/bin/tconv_bench" ]; then
  bin="$root/bin"; tests_bin="$root/bin/tconv_tests"
else
  bin="${BIN_DIR:-$root/build}"; tests_bin="$bin/tests/tconv_tests"
fi
bench="$bin/tconv_bench"
[ -x "$bench" ] || { echo "gpu_check.sh: $bench not found (unpack a bundle, or build and set BIN_DIR)" >&2; exit 1; }

# No GPU: one line, exit 2, before anything else (tconv_bench --env probes the driver only).
env_text=$("$bench" --env 2>&1)
env_rc=$?
if [ $env_rc -ne 0 ]; then
  line=$(printf '%s\n' "$env_text" | grep -E '^gpu: |cannot find|error' | tail -1)
  [ -n "$line" ] || line=$(printf '%s\n' "$env_text" | tail -1)
  line=${line#gpu: }; line=${line#none: }
  echo "gpu_check.sh: $line"
  [ $env_rc -eq 2 ] && exit 2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
budget=${GPU_CHECK_BUDGET_S:-450}
start=$(date +%s)
steps="$work/steps.tsv"   # step <TAB> state <TAB> seconds <TAB> detail
: > "$steps"
py=$(command -v python3 || true)

left() { echo $(( budget - ($(date +%s) - start) )); }
# limit STEP_BUDGET: the step's own limit, never past the overall budget (at least 5 s).
limit() { local l; l=$(left); [ "$1" -lt "$l" ] && l=$1; [ "$l" -lt 5 ] && l=5; echo "$l"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$steps"; echo "gpu_check.sh: $1: $2 ($3 s) $4" >&2; }
# run_step NAME SECONDS LOG CMD...: runs CMD under timeout, appending to LOG; sets step_rc.
run_step() {
  local name=$1 secs=$2 log=$3; shift 3
  local t0; t0=$(date +%s)
  echo "===== $name: $* (limit ${secs}s)" >> "$log"
  timeout --kill-after=10 "$secs" "$@" >> "$log" 2>&1
  step_rc=$?
  step_secs=$(( $(date +%s) - t0 ))
}

# ---- env ---------------------------------------------------------------------------------
{
  echo "$env_text"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv 2>&1
  [ -f "$root/BUNDLE.txt" ] && { echo "bundle:"; sed 's/^/  /' "$root/BUNDLE.txt"; }
  [ -n "$py" ] && "$py" -c "import sys; print('python', sys.version.split()[0]);
try:
    import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'gpu' if torch.cuda.is_available() else 'no gpu')
except Exception as e: print('torch: not importable:', e)" 2>&1
  command -v compute-sanitizer >/dev/null && compute-sanitizer --version 2>&1 | tail -1
} > "$work/env.txt" 2>&1
record env ran 0 ""

# ---- tests -------------------------------------------------------------------------------
tlog="$out/tests.log"
: > "$tlog"
if [ -x "$tests_bin" ]; then
  run_step tests "$(limit 90)" "$tlog" "$tests_bin" --gtest_filter='Gpu*' --gtest_color=no
  # gtest names each failed or skipped test twice (when it ends and in the final list).
  count() { grep -E "^\[$1\] [A-Za-z_0-9]+\.[A-Za-z_0-9/]+" "$tlog" | awk '{print $NF == "" ? $0 : $0}' | sed -E 's/ \([0-9]+ ms\)$//' | sort -u | wc -l; }
  ok=$(count '       OK '); failed=$(count '  FAILED  '); skipped=$(count '  SKIPPED ')
  case $step_rc in
    0) state=passed ;; 124|137) state="timed out" ;; *) state=failed ;;
  esac
  record tests "$state" "$step_secs" "$ok passed, $failed failed, $skipped skipped"
else
  record tests "not run" 0 "$tests_bin not found"
fi

# ---- sanitizers --------------------------------------------------------------------------
slog="$out/sanitizer.log"
: > "$slog"
ours=$("$bench" --dry-run --format csv --suite smoke 2>/dev/null | "${py:-python3}" -c "
import csv, sys
# Our own kernels: every GPU implementation whose name does not say it is a library's.
names = []
for r in csv.DictReader(sys.stdin):
    n = r['impl']
    if n not in names and not n.startswith(('cudnn', 'cutlass')):
        names.append(n)
print(' '.join(names))" 2>/dev/null)
impl_args=(); for n in $ours; do impl_args+=(--impl "$n"); done
san_shapes='^smoke/(stride2|dilation2|groups4|odd_sizes|input_1x1|depthwise)/'
if ! command -v compute-sanitizer >/dev/null 2>&1; then
  for t in memcheck racecheck synccheck; do record "$t" "not run" 0 "compute-sanitizer not on PATH"; done
else
  # The real binary under the sanitizer (a bundle's bin/ holds launchers, which set
  # LD_LIBRARY_PATH through lib/find_libs.sh).
  real="$bench"
  if [ -x "$root/libexec/tconv_bench" ]; then
    real="$root/libexec/tconv_bench"
    # shellcheck source=/dev/null
    . "$root/lib/find_libs.sh"
  fi
  sanitize() {  # TOOL SECONDS bench-args...
    local tool=$1 secs=$2; shift 2
    local log="$work/$tool.log"
    run_step "$tool" "$secs" "$log" compute-sanitizer --tool "$tool" --error-exitcode 9 "$real" "$@"
    cat "$log" >> "$slog"
    local errors rows; errors=$(grep -o 'ERROR SUMMARY: [0-9]*' "$log" | tail -1 | awk '{print $3}')
    rows=$(grep -c '^\[[0-9]*/[0-9]*\]' "$log")
    case $step_rc in
      0) state=passed ;; 124|137) state="timed out" ;; *) state=failed ;;
    esac
    record "$tool" "$state" "$step_secs" "${errors:-no} errors reported, $rows rows verified, exit $step_rc"
  }
  common=(--verify-only --no-ceilings --hot --csv "$work/sanitizer.csv" --dtype all --layout all
          "--benchmark_filter=$san_shapes")
  sanitize memcheck "$(limit 70)" --suite smoke "${impl_args[@]}" "${common[@]}"
  sanitize racecheck "$(limit 30)" --suite smoke --impl phase_gemm --impl zero_insert_direct "${common[@]}"
  sanitize synccheck "$(limit 25)" --suite smoke --impl phase_gemm --impl zero_insert_direct "${common[@]}"
fi

# ---- benchmarks --------------------------------------------------------------------------
csv="$out/bench.csv"
blog="$work/bench.log"
: > "$blog"
# bench_step NAME SECONDS args...: runs tconv_bench into bench.csv, resuming after device faults
# (exit 4) while time is left and the fault was not on the same row twice.
bench_step() {
  local name=$1 secs=$2; shift 2
  local t_end=$(( $(date +%s) + secs )) rc=0 tries=0 resume=()
  [ -f "$csv" ] && resume=(--resume)
  while :; do
    local now; now=$(date +%s); local l=$(( t_end - now ))
    [ $l -lt 5 ] && { rc=124; break; }
    run_step "$name" "$l" "$blog" "$bench" --csv "$csv" "${resume[@]}" "$@"
    rc=$step_rc
    resume=(--resume)
    tries=$((tries + 1))
    [ $rc -eq 4 ] && [ $tries -lt 5 ] && continue
    break
  done
  local rows faults; rows=$(grep -c '^\[[0-9]*/[0-9]*\]' "$blog")
  faults=$(grep -c 'stopping after a device fault' "$blog")
  case $rc in 0) state=ran ;; 124|137) state="timed out" ;; *) state="failed (exit $rc)" ;; esac
  record "$name" "$state" "$(( $(date +%s) - t_end + secs ))" "$tries process(es), $faults device fault(s)"
}
bench_step smoke "$(limit 100)" --suite smoke --dtype all --layout all --reps 5 --warmup 1
bench_step networks "$(limit 90)" --suite dcgan --suite networks --dtype fp32,fp16,bf16 --reps 10 --warmup 2

# ---- PyTorch peer ------------------------------------------------------------------------
peer="$out/peer.csv"
if [ -n "$py" ] && "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
  run_step peer "$(limit 50)" "$blog" "$py" "$here/peer_pytorch.py" --bench "$bench" --csv "$peer" \
    --suite smoke --suite dcgan --suite networks --dtype fp32,fp16,bf16 --reps 10 --warmup 2
  case $step_rc in 0) state=ran ;; 124|137) state="timed out" ;; *) state=failed ;; esac
  record peer "$state" "$step_secs" ""
else
  record peer "not run" 0 "torch with CUDA does not import"
fi

# ---- plots -------------------------------------------------------------------------------
plots=()
if [ -n "$py" ] && [ -s "$csv" ]; then
  inputs=("$csv"); [ -s "$peer" ] && inputs+=("$peer")
  run_step plots "$(limit 30)" "$blog" "$py" "$here/plot.py" "${inputs[@]}" --out "$work/plots"
  # plot.py writes one headline (speedup over the best cuDNN row) per dtype and layout and one
  # roofline per dtype: keep fp16 (the tensor-core case), else the first there is.
  pick() { ls "$work/plots/$1" 2>/dev/null | head -1 || true; }
  f=$(pick 'headline_fp16_nhwc.png'); [ -n "$f" ] || f=$(ls "$work/plots"/headline_*.png 2>/dev/null | head -1)
  [ -n "$f" ] && cp "$f" "$out/speedup.png" && plots+=(speedup.png)
  f=$(pick 'roofline_fp16.png'); [ -n "$f" ] || f=$(ls "$work/plots"/roofline_*.png 2>/dev/null | head -1)
  [ -n "$f" ] && cp "$f" "$out/roofline.png" && plots+=(roofline.png)
  case $step_rc in 0) state=ran ;; 124|137) state="timed out" ;; *) state=failed ;; esac
  record plots "$state" "$step_secs" "${plots[*]:-no plot}"
else
  record plots "not run" 0 "no python3 or no bench rows"
fi

# ---- summary -----------------------------------------------------------------------------
if [ -n "$py" ]; then
  "$py" "$here/gpu_check_summary.py" --steps "$steps" --env "$work/env.txt" --bench "$csv" \
    --peer "$peer" --bench-log "$blog" --out "$out/summary.md" --budget "$budget" \
    --elapsed "$(( $(date +%s) - start ))" || echo "gpu_check.sh: summary failed" >&2
else
  { echo "# gpu_check summary (no python3: steps only)"; cat "$steps"; } > "$out/summary.md"
fi
echo "gpu_check.sh: done in $(( $(date +%s) - start )) s; $out: $(cd "$out" && ls | tr '\n' ' ')"
