#!/usr/bin/env bash
# Launcher of the bundle's @BINARY@: puts the GPU libraries on the loader's path (lib/find_libs.sh:
# LD_LIBRARY_PATH as given, the system, the CUDA toolkit, then the pip wheels of the python3 on
# PATH), then runs the real binary from libexec/ with the same arguments.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
. "$here/lib/find_libs.sh" || exit 1
exec "$here/libexec/@BINARY@" "$@"
