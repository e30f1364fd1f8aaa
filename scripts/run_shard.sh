#!/usr/bin/env bash
# One shard of a sharded run: tconv_bench --shard I/N --csv CSV [bench args], restarted with
# --resume after a device fault (exit status 4: the faulting row is in the CSV as "failed", the
# next process continues after it) at most MAX_RESTARTS times (default 20). Used by
# scripts/run_local_gpus.sh (one per GPU) and scripts/slurm/tconv_array.sbatch (one per task).
#
#   scripts/run_shard.sh I/N CSV [bench args]
#
# TCONV_BENCH: the tconv_bench to run (default: the bundle's bin/tconv_bench beside this script,
# else build/tconv_bench of the source tree). Exit status: tconv_bench's last one.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -ge 2 ] || { echo "usage: scripts/run_shard.sh I/N CSV [bench args]" >&2; exit 1; }
shard=$1 csv=$2; shift 2
bench=${TCONV_BENCH:-}
if [ -z "$bench" ]; then
  if [ -x "$root/bin/tconv_bench" ]; then bench="$root/bin/tconv_bench"; else bench="$root/build/tconv_bench"; fi
fi
[ -x "$bench" ] || { echo "run_shard.sh: $bench not found (build it, unpack a bundle, or set TCONV_BENCH)" >&2; exit 1; }
max=${MAX_RESTARTS:-20}
[[ "$max" =~ ^[0-9]+$ ]] || { echo "run_shard.sh: MAX_RESTARTS=$max: expected a number" >&2; exit 1; }

resume=()
restarts=0
while :; do
  "$bench" "$@" --shard "$shard" --csv "$csv" "${resume[@]}"
  rc=$?
  [ $rc -eq 4 ] || break
  if [ "$restarts" -ge "$max" ]; then
    echo "run_shard.sh: shard $shard: $restarts restarts after device faults, giving up (MAX_RESTARTS=$max)" >&2
    break
  fi
  restarts=$((restarts + 1))
  echo "run_shard.sh: shard $shard: device fault; restart $restarts with --resume" >&2
  resume=(--resume)
done
exit $rc
