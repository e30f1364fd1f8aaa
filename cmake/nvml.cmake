# Finds nvml.h (the NVIDIA Management Library's header) and defines the imported target
# tconv::nvml_headers: the clock and power columns of tconv_bench (bench/power.cpp). Looks, in
# order, in NVML_INCLUDE_DIR, the CUDA toolkit's include folder (where the toolkit ships
# cuda-nvml-dev) and the nvidia-nvml-dev wheel of the python3 on PATH (scripts/bootstrap.sh
# installs it). Only the header: the library itself is the driver's libnvidia-ml.so.1, opened at
# run time. Optional: without the header the columns are empty and say why in the nvml column.
set(_nvml_hints "")
if(NVML_INCLUDE_DIR)
  list(APPEND _nvml_hints "${NVML_INCLUDE_DIR}")
endif()
list(APPEND _nvml_hints ${CUDAToolkit_INCLUDE_DIRS})
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import importlib.metadata as m; print(next(str(f.locate().parent) for f in m.files('nvidia-nvml-dev') if str(f).replace(chr(92), '/').endswith('include/nvml.h')))"
    OUTPUT_VARIABLE _nvml_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_nvml_wheel)
    list(APPEND _nvml_hints "${_nvml_wheel}")
  endif()
endif()
find_path(TCONV_NVML_INCLUDE_DIR nvml.h HINTS ${_nvml_hints} NO_DEFAULT_PATH)
add_library(tconv::nvml_headers INTERFACE IMPORTED)
if(TCONV_NVML_INCLUDE_DIR)
  message(STATUS "nvml.h: ${TCONV_NVML_INCLUDE_DIR}")
  target_include_directories(tconv::nvml_headers SYSTEM INTERFACE "${TCONV_NVML_INCLUDE_DIR}")
  target_compile_definitions(tconv::nvml_headers INTERFACE TCONV_HAVE_NVML_H)
else()
  message(WARNING "nvml.h not found (NVML_INCLUDE_DIR='${NVML_INCLUDE_DIR}', the CUDA toolkit, the "
                  "nvidia-nvml-dev wheel): tconv_bench's clock and power columns will be empty. "
                  "Run scripts/bootstrap.sh or `python3 -m pip install --no-deps nvidia-nvml-dev`.")
endif()
