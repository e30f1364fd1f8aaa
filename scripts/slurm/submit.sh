#!/usr/bin/env bash
# Submits a sharded tconv_bench run to Slurm: a job array of N tasks (one GPU each, shard I/N)
# and, after it, the merge into TCONV_OUT/results.csv (scripts/slurm/tconv_array.sbatch).
#
#   TCONV_BUNDLE=dist/tconv-bench-sm90.tar.xz TCONV_OUT=runs/run1 scripts/slurm/submit.sh N [bench args]
#
# SBATCH_ARGS: more sbatch options for both jobs (e.g. "--partition=gpu --account=proj");
# TCONV_BUNDLE and TCONV_OUT must be on a filesystem every node sees. Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] && [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] || { echo "usage: scripts/slurm/submit.sh N [bench args]" >&2; exit 1; }
n=$1; shift
[ -n "${TCONV_BUNDLE:-}" ] && [ -e "$TCONV_BUNDLE" ] || { echo "submit.sh: set TCONV_BUNDLE to scripts/bundle.sh's tarball" >&2; exit 1; }
[ -n "${TCONV_OUT:-}" ] || { echo "submit.sh: set TCONV_OUT to the run's folder" >&2; exit 1; }
command -v sbatch >/dev/null 2>&1 || { echo "submit.sh: sbatch not found (not a Slurm login node?)" >&2; exit 1; }
bundle=$(cd "$(dirname "$TCONV_BUNDLE")" && pwd)/$(basename "$TCONV_BUNDLE")
mkdir -p "$TCONV_OUT"
out=$(cd "$TCONV_OUT" && pwd)
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((n - 1)) --output="$out/slurm-%A_%a.out" \
        --export=ALL,TCONV_BUNDLE="$bundle",TCONV_OUT="$out" "$here/tconv_array.sbatch" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency=afterany:"$array" --gres=gpu:0 \
        --job-name=tconv-bench-merge --output="$out/slurm-%j-merge.out" \
        --export=ALL,TCONV_BUNDLE="$bundle",TCONV_OUT="$out" "$here/tconv_array.sbatch" --merge)
merge=${merge%%;*}
echo "submit.sh: array job $array ($n shards), merge job $merge; results in $out/results.csv"
