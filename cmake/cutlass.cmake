# Finds the CUTLASS headers (include/cutlass and include/cute, CUTLASS 4.2 or newer) and defines
# the imported target tconv::cutlass and TCONV_HAVE_CUTLASS. Looks, in order, in CUTLASS_DIR
# (CMake or environment variable: a CUTLASS checkout or install, or its include/) and the
# nvidia-cutlass wheel of the python3 on PATH (cutlass_library/source/include; scripts/
# bootstrap.sh installs it). Optional: without it the cutlass_dgrad row is not built (no stand-in
# row), and the configure says so.
set(_cutlass_hints "")
if(CUTLASS_DIR)
  list(APPEND _cutlass_hints "${CUTLASS_DIR}")
endif()
if(DEFINED ENV{CUTLASS_DIR})
  list(APPEND _cutlass_hints "$ENV{CUTLASS_DIR}")
endif()
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  # The wheel's file list, not `import cutlass_library`: importing runs its Python generator code.
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import importlib.metadata as m; print(next(str(f.locate().parent.parent) for f in m.files('nvidia-cutlass') if str(f).replace(chr(92), '/').endswith('source/include/cutlass/cutlass.h')))"
    OUTPUT_VARIABLE _cutlass_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cutlass_wheel)
    list(APPEND _cutlass_hints "${_cutlass_wheel}")
  endif()
endif()

find_path(CUTLASS_INCLUDE_DIR cutlass/cutlass.h HINTS ${_cutlass_hints} PATH_SUFFIXES include)
set(TCONV_HAVE_CUTLASS OFF)
if(CUTLASS_INCLUDE_DIR AND EXISTS "${CUTLASS_INCLUDE_DIR}/cute/tensor.hpp")
  file(STRINGS "${CUTLASS_INCLUDE_DIR}/cutlass/version.h" _cutlass_version_lines
       REGEX "define CUTLASS_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*CUTLASS_MAJOR ([0-9]+).*CUTLASS_MINOR ([0-9]+).*CUTLASS_PATCH ([0-9]+).*"
         "\\1.\\2.\\3" _cutlass_version "${_cutlass_version_lines}")
  if(_cutlass_version VERSION_LESS 4.2)
    message(WARNING "CUTLASS ${_cutlass_version} at ${CUTLASS_INCLUDE_DIR} is older than 4.2: the "
                    "cutlass_dgrad row is NOT built. Run scripts/bootstrap.sh or pass -DCUTLASS_DIR.")
  else()
    set(TCONV_HAVE_CUTLASS ON)
    message(STATUS "CUTLASS ${_cutlass_version}: ${CUTLASS_INCLUDE_DIR} (cutlass_dgrad row built)")
    add_library(tconv::cutlass INTERFACE IMPORTED)
    target_include_directories(tconv::cutlass SYSTEM INTERFACE "${CUTLASS_INCLUDE_DIR}")
    # cutlass/util (packed_stride.hpp, which the 3.x conv collectives include): tools/util/include
    # in a checkout and in the wheel.
    foreach(_util "${CUTLASS_INCLUDE_DIR}/../tools/util/include" "${CUTLASS_INCLUDE_DIR}/../../tools/util/include")
      if(EXISTS "${_util}/cutlass/util/packed_stride.hpp")
        get_filename_component(_util "${_util}" ABSOLUTE)
        target_include_directories(tconv::cutlass SYSTEM INTERFACE "${_util}")
        break()
      endif()
    endforeach()
    # Host C++ that includes CUTLASS 3 / CuTe headers (the phase_sm90 mapping tests) needs
    # libcu++ (<cuda/std/...>), which CUDA 13 keeps under include/cccl; nvcc adds it itself.
    foreach(_inc IN LISTS CUDAToolkit_INCLUDE_DIRS)
      if(EXISTS "${_inc}/cccl/cuda/std/cassert")
        target_include_directories(tconv::cutlass SYSTEM INTERFACE "$<$<COMPILE_LANGUAGE:CXX>:${_inc}/cccl>")
      endif()
    endforeach()
  endif()
else()
  message(WARNING "CUTLASS headers not found (looked in CUTLASS_DIR='${CUTLASS_DIR}' and the "
                  "nvidia-cutlass wheel of '${Python3_EXECUTABLE}'): the cutlass_dgrad row is NOT "
                  "built. Run scripts/bootstrap.sh (`python3 -m pip install --no-deps "
                  "nvidia-cutlass`) or pass -DCUTLASS_DIR=/path/to/cutlass.")
endif()
