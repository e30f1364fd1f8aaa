#!/usr/bin/env bash
# One command for a fresh machine: installs what is missing, builds, and runs the main job.
#   scripts/bootstrap.sh            install + build + run the built-in suites (GPU) and plot them
#   scripts/bootstrap.sh --build    install + build only
# Environment: BUILD_DIR (default build), CUDA_ARCHS (default: CMake's, sm_80 + sm_90),
#              BENCH_ARGS (extra tconv_bench arguments), CUDNN_ROOT (where cuDNN lives).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
mode=run
case "${1:-}" in
  --build) mode=build ;;
  "") ;;
  *) echo "bootstrap.sh: unknown argument '$1' (use --build or nothing)" >&2; exit 2 ;;
esac

need() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif need sudo; then sudo "$@"; else return 1; fi; }

# 1. Toolchain that no package manager here can provide.
if ! need nvcc; then
  for d in /usr/local/cuda/bin /usr/local/cuda-13.0/bin; do [ -x "$d/nvcc" ] && export PATH="$d:$PATH"; done
fi
need nvcc || { echo "bootstrap.sh: nvcc not found: install the CUDA toolkit (12.x or 13.x) and put it on PATH" >&2; exit 1; }

# 2. Debian packages: CMake, Google Benchmark, GoogleTest, CLI11 (header-only: the argument
#    parser of both programs, compiled in, so a bundle needs nothing of it at run time).
missing=()
need cmake || missing+=(cmake)
for pkg in libbenchmark-dev libgtest-dev libcli11-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap.sh: installing ${missing[*]}"
  if need apt-get; then
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || { echo "bootstrap.sh: could not install ${missing[*]} (need root or sudo)" >&2; exit 1; }
  else
    echo "bootstrap.sh: please install ${missing[*]} (no apt-get here)" >&2; exit 1
  fi
fi

# 3. Python packages for the scripts and their tests. onnxruntime is optional (it only checks the
#    ONNX tests' semantics, which report skipped without it): its own step, allowed to fail.
if ! python3 -c "import numpy, pandas, matplotlib, pytest, onnx" >/dev/null 2>&1; then
  echo "bootstrap.sh: installing scripts/requirements.txt"
  grep -Ev '^(onnxruntime|atheris)' scripts/requirements.txt \
    | python3 -m pip install -q --disable-pip-version-check -r /dev/stdin
fi
if ! python3 -c "import onnxruntime" >/dev/null 2>&1; then
  echo "bootstrap.sh: installing onnxruntime (optional)"
  python3 -m pip install -q --disable-pip-version-check "$(grep '^onnxruntime' scripts/requirements.txt)" \
    || echo "bootstrap.sh: onnxruntime did not install; the ONNX semantics tests will report skipped" >&2
fi

# 3b. C++ build inputs from pip wheels: the headers of CUTLASS (the cutlass_dgrad rows), the
#     cuDNN frontend (cudnn_graph) and nvml.h (the clock and power columns), and cuobjdump and
#     nvdisasm (the registers and the instructions of our kernels' sm_90 code, for the CPU
#     profiler). This toolkit's install may lack cuda-nvml-dev, cuobjdump and nvdisasm; 13.2 is
#     the oldest cuobjdump and nvdisasm on PyPI, and they read 13.0's code. --no-deps: only these files are wanted, not the Python DSLs and runtimes the
#     wheels depend on. Pinned to the versions the build was checked with; cmake/cutlass.cmake,
#     cudnn_frontend.cmake, nvml.cmake and kernel_resources.cmake find them through this python3.
cxx_wheels=(nvidia-cutlass==4.2.0.0 nvidia-cudnn-frontend==1.32.0 nvidia-nvml-dev==13.0.87
            nvidia-cuda-cuobjdump==13.2.51 nvidia-cuda-nvdisasm==13.2.51)
if ! python3 -c "import importlib.metadata as m, sys; sys.exit(any(m.version(w.split('==')[0]) != w.split('==')[1] for w in sys.argv[1:]))" "${cxx_wheels[@]}" >/dev/null 2>&1; then
  echo "bootstrap.sh: installing ${cxx_wheels[*]} (build inputs)"
  python3 -m pip install -q --disable-pip-version-check --no-deps "${cxx_wheels[@]}"
fi

# 4. Build.
cmake_args=(-S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release)
[ -n "${CUDA_ARCHS:-}" ] && cmake_args+=("-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS}")
[ -n "${CUDNN_ROOT:-}" ] && cmake_args+=("-DCUDNN_ROOT=${CUDNN_ROOT}")
# ccache, where installed, makes rebuilds of unchanged files (a second build folder, CI on the
# same machine) nearly free; nvcc goes through it too.
if need ccache; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake "${cmake_args[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
[ "$mode" = build ] && exit 0

# 5. The main job: every built-in suite on the GPU, then the plots.
if ! "$BUILD_DIR/tconv_bench" --list-suites >/dev/null 2>&1; then
  echo "bootstrap.sh: $BUILD_DIR/tconv_bench was not built (see the CMake warnings)" >&2; exit 1
fi
if ! need nvidia-smi || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "bootstrap.sh: built; no GPU on this machine, so the benchmark cannot run here."
  echo "Here is the matrix view instead (build/tconv explain):"
  "$BUILD_DIR/tconv" explain | head -40
  exit 0
fi
out=${OUT_DIR:-results/local}
mkdir -p "$out"
# shellcheck disable=SC2086
"$BUILD_DIR/tconv_bench" --csv "$out/results.csv" ${BENCH_ARGS:-}
python3 scripts/plot.py "$out/results.csv" --out "$out/plots"
echo "bootstrap.sh: results in $out/results.csv, plots in $out/plots/"
