# Finds cuDNN 9 and defines the imported target tconv::cudnn. Looks, in order, in CUDNN_ROOT
# (CMake or environment variable), the CUDA toolkit's folders, and a pip-installed
# nvidia-cudnn-cu13/cu12 wheel (site-packages/nvidia/cudnn) of the python3 on PATH.
set(_cudnn_hints "")
if(CUDNN_ROOT)
  list(APPEND _cudnn_hints "${CUDNN_ROOT}")
endif()
if(DEFINED ENV{CUDNN_ROOT})
  list(APPEND _cudnn_hints "$ENV{CUDNN_ROOT}")
endif()
list(APPEND _cudnn_hints "${CUDAToolkit_LIBRARY_ROOT}" "${CUDAToolkit_TARGET_DIR}")
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])"
    OUTPUT_VARIABLE _cudnn_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cudnn_wheel)
    list(APPEND _cudnn_hints "${_cudnn_wheel}")
  endif()
endif()

find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cudnn_hints}
             ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64 lib/x64)

if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  message(FATAL_ERROR
    "cuDNN not found (looked in CUDNN_ROOT='${CUDNN_ROOT}', the CUDA toolkit and a pip "
    "nvidia-cudnn wheel). Install cuDNN 9 (e.g. `pip install nvidia-cudnn-cu13`) or pass "
    "-DCUDNN_ROOT=/path/containing/include/cudnn.h")
endif()
file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _cudnn_major_line REGEX "define CUDNN_MAJOR ")
string(REGEX MATCH "[0-9]+" _cudnn_major "${_cudnn_major_line}")
if(NOT _cudnn_major OR _cudnn_major LESS 9)
  message(FATAL_ERROR "cuDNN ${_cudnn_major} found at ${CUDNN_INCLUDE_DIR}; tconv-bench needs cuDNN 9 "
                      "(graph API, status codes). Point CUDNN_ROOT at a cuDNN 9 install.")
endif()
message(STATUS "cuDNN ${_cudnn_major}: ${CUDNN_LIBRARY}")
add_library(tconv::cudnn INTERFACE IMPORTED)
target_include_directories(tconv::cudnn INTERFACE "${CUDNN_INCLUDE_DIR}")
target_link_libraries(tconv::cudnn INTERFACE "${CUDNN_LIBRARY}")
