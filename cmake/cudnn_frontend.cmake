# Finds the header-only cuDNN frontend (cudnn_frontend.h) and defines the imported target
# tconv::cudnn_frontend. Looks, in order, in CUDNN_FRONTEND_DIR (CMake or environment variable:
# a folder with include/cudnn_frontend.h, or that include/ itself) and the nvidia-cudnn-frontend
# wheel of the python3 on PATH (scripts/bootstrap.sh installs it). Required: cudnn_graph is built
# on it, and a missing frontend must stop the configure rather than drop the row silently.
set(_fe_hints "")
if(CUDNN_FRONTEND_DIR)
  list(APPEND _fe_hints "${CUDNN_FRONTEND_DIR}")
endif()
if(DEFINED ENV{CUDNN_FRONTEND_DIR})
  list(APPEND _fe_hints "$ENV{CUDNN_FRONTEND_DIR}")
endif()
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  # The wheel's files, not `import cudnn`: importing loads its compiled module, which needs a
  # GPU-capable cuDNN at import time; the file list needs nothing.
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import importlib.metadata as m; print(next(str(f.locate().parent.parent) for f in m.files('nvidia-cudnn-frontend') if str(f).replace(chr(92), '/').endswith('include/cudnn_frontend.h')))"
    OUTPUT_VARIABLE _fe_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_fe_wheel)
    list(APPEND _fe_hints "${_fe_wheel}")
  endif()
endif()

find_path(CUDNN_FRONTEND_INCLUDE_DIR cudnn_frontend.h HINTS ${_fe_hints} PATH_SUFFIXES include)
if(NOT CUDNN_FRONTEND_INCLUDE_DIR)
  message(FATAL_ERROR
    "cuDNN frontend not found (looked in CUDNN_FRONTEND_DIR='${CUDNN_FRONTEND_DIR}' and the "
    "nvidia-cudnn-frontend wheel of '${Python3_EXECUTABLE}'). cudnn_graph needs it: run "
    "scripts/bootstrap.sh, or `python3 -m pip install --no-deps nvidia-cudnn-frontend`, or pass "
    "-DCUDNN_FRONTEND_DIR=/path/containing/include/cudnn_frontend.h")
endif()
file(STRINGS "${CUDNN_FRONTEND_INCLUDE_DIR}/cudnn_frontend_version.h" _fe_version_lines
     REGEX "define CUDNN_FRONTEND_(MAJOR|MINOR|PATCH)_VERSION ")
string(REGEX REPLACE ".*MAJOR_VERSION ([0-9]+).*MINOR_VERSION ([0-9]+).*PATCH_VERSION ([0-9]+).*"
       "\\1.\\2.\\3" _fe_version "${_fe_version_lines}")
message(STATUS "cuDNN frontend ${_fe_version}: ${CUDNN_FRONTEND_INCLUDE_DIR}")
add_library(tconv::cudnn_frontend INTERFACE IMPORTED)
# SYSTEM: the frontend's own warnings are not ours. SKIP_JSON_LIB: the bundled nlohmann JSON is
# only for (de)serializing plans, which we do not use, and it is most of the compile time; the
# definition is on the target so every file that includes the frontend sees the same classes.
target_include_directories(tconv::cudnn_frontend SYSTEM INTERFACE "${CUDNN_FRONTEND_INCLUDE_DIR}")
target_compile_definitions(tconv::cudnn_frontend INTERFACE CUDNN_FRONTEND_SKIP_JSON_LIB)
# NVRTC: the frontend's header-defined experimental engines (Sm100 RmsNorm+SiLU) call it, so the
# linker needs it even though a conv_dgrad graph never compiles anything. Not the frontend's
# dynamic-loading mode: that dlopens its own libcudart, a second runtime beside our static one.
# The library file, not CMake's CUDA::nvrtc target: that target drags in CUDA::cuda_driver (the
# toolkit's libcuda stub), and wherever the linker keeps that NEEDED entry (e.g. the sanitizer
# build) the binaries cannot even start on a machine without a driver, where they must say "no
# GPU" and exit 2.
find_library(TCONV_NVRTC_LIBRARY NAMES nvrtc HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
target_link_libraries(tconv::cudnn_frontend INTERFACE tconv::cudnn ${TCONV_NVRTC_LIBRARY})
