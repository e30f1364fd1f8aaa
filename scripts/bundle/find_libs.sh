# Sourced by the bundle's launchers. For each GPU library the binaries need (gpu_libraries.txt,
# written by scripts/bundle.sh) that the dynamic loader would not find by itself, looks in the
# CUDA toolkit's folders and in the pip wheels (nvidia-cublas, nvidia-cusparse, nvidia-nvjitlink,
# nvidia-cudnn-cu12/-cu13) of the python3 on PATH, and prepends the folder to LD_LIBRARY_PATH.
# What the binaries finally loaded, file and version, they print themselves (tconv_bench --env).
# TCONV_FIND_LIBS_VERBOSE=1 prints each choice on stderr.
_tconv_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_tconv_found() {  # soname: found in LD_LIBRARY_PATH or the loader's cache?
  local so=$1 d
  local IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do [ -n "$d" ] && [ -e "$d/$so" ] && return 0; done
  ldconfig -p 2>/dev/null | grep -q "[[:space:]]$so[[:space:]]"
}

_tconv_candidates() {  # folders that may hold the libraries, best first
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib; do
    [ -d "$d" ] && echo "$d"
  done
  if command -v python3 >/dev/null 2>&1; then
    python3 - <<'PY' 2>/dev/null
import glob, os, site, sys
roots = []
try:
    roots += site.getsitepackages()
except Exception:
    pass
try:
    roots.append(site.getusersitepackages())
except Exception:
    pass
roots += [p for p in sys.path if p.endswith("-packages")]
seen = set()
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "**", "lib"), recursive=True)):
        if d not in seen and os.path.isdir(d):
            seen.add(d)
            print(d)
PY
  fi
}

_tconv_missing=()
while read -r _tconv_so; do
  [ -n "$_tconv_so" ] || continue
  _tconv_found "$_tconv_so" || _tconv_missing+=("$_tconv_so")
done < "$_tconv_lib_dir/gpu_libraries.txt"

if [ ${#_tconv_missing[@]} -gt 0 ]; then
  mapfile -t _tconv_dirs < <(_tconv_candidates)
  _tconv_still=()
  for _tconv_so in "${_tconv_missing[@]}"; do
    _tconv_hit=""
    for _tconv_d in "${_tconv_dirs[@]}"; do
      if [ -e "$_tconv_d/$_tconv_so" ]; then _tconv_hit=$_tconv_d; break; fi
    done
    if [ -n "$_tconv_hit" ]; then
      case ":${LD_LIBRARY_PATH:-}:" in
        *":$_tconv_hit:"*) ;;
        *) export LD_LIBRARY_PATH="$_tconv_hit${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
      esac
      [ "${TCONV_FIND_LIBS_VERBOSE:-0}" = 1 ] && echo "find_libs: $_tconv_so from $_tconv_hit" >&2
    else
      _tconv_still+=("$_tconv_so")
    fi
  done
  if [ ${#_tconv_still[@]} -gt 0 ]; then
    echo "tconv-bench: cannot find ${_tconv_still[*]}: not in LD_LIBRARY_PATH, the loader's cache, /usr/local/cuda or the nvidia-* pip wheels of $(command -v python3 || echo 'python3 (none on PATH)'); install them (e.g. pip install nvidia-cudnn-cu13) or set LD_LIBRARY_PATH" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
unset _tconv_so _tconv_d _tconv_hit _tconv_missing _tconv_still _tconv_dirs
