#!/usr/bin/env bash
# Builds, on a machine without a GPU, a relocatable folder for a GPU machine that has the NVIDIA
# driver and cuBLAS/cuSPARSE/cuDNN (system, LD_LIBRARY_PATH or pip wheels) but perhaps no build
# tools, Google Benchmark or GoogleTest -- the "build on the login node, run on the GPU node" way:
#
#   scripts/bundle.sh OUT_DIR [--arch 90]
#
# writes OUT_DIR/tconv-bench-sm<arch>/ and OUT_DIR/tconv-bench-sm<arch>.tar.xz (at most 32 MiB):
#   bin/        tconv, tconv_bench, tconv_tests: launchers that find the GPU libraries, then run
#   libexec/    the real binaries (cudart static, RPATH $ORIGIN/../lib)
#   lib/        what a GPU machine may lack: Google Benchmark's shared library (GoogleTest is
#               linked statically); find_libs.sh, which the launchers source
#   scripts/    gpu_check.sh and the Python scripts it runs, with what they import; the sharded
#               runners (run_shard.sh, run_local_gpus.sh, merge_results.py, slurm/)
#   contract.json  the results CSV's contract (tconv_bench --print-contract), for the scripts
#   BUNDLE.txt  commit, architecture, toolkit and library versions it was built against
# On the GPU machine: tar xf tconv-bench-sm90.tar.xz && tconv-bench-sm90/scripts/gpu_check.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/bundle.sh OUT_DIR [--arch 90]" >&2; exit 1; }
[ $# -ge 1 ] || usage
out=$1; shift
arch=90
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    *) echo "bundle.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$arch" =~ ^[0-9]+a?$ ]] || { echo "bundle.sh: --arch $arch: expected a compute capability such as 90 or 80" >&2; exit 1; }

name="tconv-bench-sm${arch}"
build=${BUNDLE_BUILD_DIR:-build-bundle-sm${arch}}
max_bytes=$((32 * 1024 * 1024))

# Build (installs missing build dependencies like scripts/test.sh does). sm_<arch> machine code
# plus its PTX, so a newer GPU can still JIT it.
BUILD_DIR="$build" CUDA_ARCHS="${arch}" scripts/bootstrap.sh --build
for t in tconv tconv_bench tests/tconv_tests; do
  [ -x "$build/$t" ] || { echo "bundle.sh: $build/$t was not built (see the CMake warnings)" >&2; exit 1; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.${name}.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/libexec" "$root/lib" "$root/scripts"

cp "$build/tconv" "$build/tconv_bench" "$build/tests/tconv_tests" "$root/libexec/"
# The results CSV's contract, which the scripts read (scripts/tconv_results.py contract()) where
# they cannot run the binary.
"$build/tconv_bench" --print-contract > "$root/contract.json"
# Only our own binaries are stripped of symbols: sizes stay far under the limit and a backtrace
# on the GPU machine still names our functions through the kept dynamic symbols.
strip --strip-debug "$root/libexec/"* 2>/dev/null || true

# The shared libraries the binaries need that are neither the GPU libraries (found at run time)
# nor glibc/libstdc++ (present everywhere): Google Benchmark.
gpu_libs_re='^lib(cublas|cublasLt|cusparse|cudnn|cudart|nvJitLink|nvrtc|cuda)\.so'
system_re='^(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux-x86-64)\.so'
needed=$(for b in "$root"/libexec/*; do readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u)
: > "$root/lib/gpu_libraries.txt"
for so in $needed; do
  if [[ "$so" =~ $gpu_libs_re ]]; then
    echo "$so" >> "$root/lib/gpu_libraries.txt"
  elif [[ ! "$so" =~ $system_re ]]; then
    path=$(ldd "$build/tconv_bench" "$build/tests/tconv_tests" | awk -v so="$so" '$1 == so {print $3; exit}')
    [ -n "$path" ] && [ -f "$path" ] || { echo "bundle.sh: cannot find $so to ship" >&2; exit 1; }
    cp -L "$path" "$root/lib/$so"
  fi
done
# cuSPARSE needs nvJitLink; cuDNN loads its sublibraries from its own folder.
grep -q '^libcusparse' "$root/lib/gpu_libraries.txt" && echo "libnvJitLink.so.13" >> "$root/lib/gpu_libraries.txt"
sort -u -o "$root/lib/gpu_libraries.txt" "$root/lib/gpu_libraries.txt"

# RPATH $ORIGIN/../lib: the binaries find the shipped libraries wherever the folder is unpacked.
if command -v patchelf >/dev/null 2>&1; then
  for b in "$root"/libexec/*; do patchelf --set-rpath '$ORIGIN/../lib' "$b"; done
else
  echo "bundle.sh: patchelf not found: installing it" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq patchelf >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq patchelf >/dev/null; }; fi
  command -v patchelf >/dev/null 2>&1 || { echo "bundle.sh: patchelf is needed (apt-get install patchelf)" >&2; exit 1; }
  for b in "$root"/libexec/*; do patchelf --set-rpath '$ORIGIN/../lib' "$b"; done
fi

cp scripts/bundle/find_libs.sh "$root/lib/find_libs.sh"
for b in tconv tconv_bench tconv_tests; do
  sed "s/@BINARY@/$b/" scripts/bundle/launcher.sh > "$root/bin/$b"
  chmod +x "$root/bin/$b"
done

# The scripts gpu_check.sh runs, and every local module they import.
for f in gpu_check.sh gpu_check_summary.py plot.py compare.py peer_pytorch.py tconv_results.py report.py \
         run_shard.sh run_local_gpus.sh merge_results.py; do
  [ -f "scripts/$f" ] && cp "scripts/$f" "$root/scripts/"
done
cp -r scripts/slurm "$root/scripts/slurm"
chmod +x "$root/scripts/"*.sh "$root/scripts/slurm/"*
repo=$(pwd)
missing=$(cd "$root/scripts" && REPO="$repo" python3 - <<'EOF'
import ast, os, sys
local = {f[:-3] for f in os.listdir(".") if f.endswith(".py")}
repo_scripts = os.path.join(os.environ.get("REPO", ""), "scripts")
need = set()
for f in os.listdir("."):
    if f.endswith(".py"):
        for node in ast.walk(ast.parse(open(f).read())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for n in names:
                top = n.split(".")[0]
                if os.path.exists(os.path.join(repo_scripts, top + ".py")) and top not in local:
                    need.add(top)
print(" ".join(sorted(need)))
EOF
)
[ -z "$missing" ] || { echo "bundle.sh: scripts import modules not shipped: $missing" >&2; exit 1; }

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
{
  echo "tconv-bench bundle $name"
  echo "commit: $commit"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown OS}")"
  echo "cuda architectures: sm_${arch} machine code + compute_${arch} PTX"
  echo "nvcc: $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  echo "CLI11 (compiled in): $(dpkg-query -W -f='${Version}' libcli11-dev 2>/dev/null || echo unknown)"
  echo "glibc: $(ldd --version | head -1 | awk '{print $NF}') (the GPU machine needs this or newer)"
  echo "GPU libraries found at run time (lib/find_libs.sh): $(tr '\n' ' ' < "$root/lib/gpu_libraries.txt")"
  echo "shipped in lib/: $(cd "$root/lib" && ls | grep '\.so' | tr '\n' ' ')"
} > "$root/BUNDLE.txt"

tarball="$out/$name.tar.xz"
rm -rf "${out:?}/$name"
tar -C "$stage" -cf - "$name" | xz -T0 -6 > "$tarball.tmp"
size=$(stat -c %s "$tarball.tmp")
if [ "$size" -gt "$max_bytes" ]; then
  rm -f "$tarball.tmp"
  echo "bundle.sh: $name.tar.xz would be $((size / 1024 / 1024)) MiB, over the 32 MiB limit" >&2
  exit 1
fi
mv "$tarball.tmp" "$tarball"
mv "$root" "$out/$name"
echo "bundle.sh: $out/$name/ and $tarball ($((size / 1024)) KiB)"
