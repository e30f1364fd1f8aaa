#!/usr/bin/env bash
# One tconv_bench run split across the GPUs of this machine: one shard per visible GPU
# (tconv_bench --shard I/N, balanced by estimated work), all in parallel, each restarted with
# --resume after a device fault (scripts/run_shard.sh), then the shard CSVs merged into one.
#
#   scripts/run_local_gpus.sh [bench args]      e.g.  --suite all --dtype all --layout all --csv run.csv
#
# --csv PATH (default results.csv) names the merged CSV; the shards and their logs go to
# PATH's folder as <name>.shards/shard-I-of-N.csv and .log. The report and plot scripts read
# either the merged CSV or the shards folder.
# CUDA_VISIBLE_DEVICES: the GPUs to use, comma-separated (default: every GPU nvidia-smi lists).
# TCONV_BENCH: the tconv_bench to run (default: the bundle's, else build/tconv_bench).
# Exit status: 0 when every shard finished; else the first failing shard's tconv_bench status
# (2 no GPU, 3 broken installation, 4 device faults beyond MAX_RESTARTS); the rows done are merged
# either way.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

csv=results.csv
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --csv) [ $# -ge 2 ] || { echo "run_local_gpus.sh: --csv needs a value" >&2; exit 1; }; csv=$2; shift 2 ;;
    --csv=*) csv=${1#--csv=}; shift ;;
    --shard|--shard=*) echo "run_local_gpus.sh: --shard is chosen per GPU by this script" >&2; exit 1 ;;
    --dry-run|--list-suites|--env|-h|--help)
      echo "run_local_gpus.sh: $1 needs no GPU: run tconv_bench $1 directly" >&2; exit 1 ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  IFS=, read -r -a gpus <<< "$CUDA_VISIBLE_DEVICES"
elif command -v nvidia-smi >/dev/null 2>&1; then
  n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
  gpus=()
  for ((i = 0; i < n; i++)); do gpus+=("$i"); done
else
  gpus=()
fi
[ ${#gpus[@]} -gt 0 ] || { echo "run_local_gpus.sh: no GPU visible (CUDA_VISIBLE_DEVICES empty and nvidia-smi lists none)" >&2; exit 2; }

n=${#gpus[@]}
dir="$(dirname "$csv")/$(basename "$csv" .csv).shards"
mkdir -p "$dir" || exit 1
echo "run_local_gpus.sh: $n shard(s) on GPU(s) ${gpus[*]}; shards in $dir/" >&2
pids=()
for ((i = 0; i < n; i++)); do
  base="$dir/shard-$i-of-$n"
  CUDA_VISIBLE_DEVICES=${gpus[$i]} "$here/run_shard.sh" "$i/$n" "$base.csv" "${args[@]}" > "$base.log" 2>&1 &
  pids+=($!)
done
rc=0
for ((i = 0; i < n; i++)); do
  wait "${pids[$i]}"
  s=$?
  echo "run_local_gpus.sh: shard $i/$n (GPU ${gpus[$i]}): exit $s, log $dir/shard-$i-of-$n.log" >&2
  [ $s -ne 0 ] && [ $rc -eq 0 ] && rc=$s
done

have=()
for ((i = 0; i < n; i++)); do [ -f "$dir/shard-$i-of-$n.csv" ] && have+=("$dir/shard-$i-of-$n.csv"); done
if [ ${#have[@]} -eq 0 ]; then
  echo "run_local_gpus.sh: no shard wrote a CSV" >&2
  [ $rc -eq 0 ] && rc=1
  exit $rc
fi
[ ${#have[@]} -lt "$n" ] && echo "run_local_gpus.sh: only ${#have[@]} of $n shards wrote a CSV" >&2
python3 "$here/merge_results.py" "$csv" "${have[@]}" || { [ $rc -eq 0 ] && rc=1; }
exit $rc
