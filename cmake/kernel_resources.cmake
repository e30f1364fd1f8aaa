# The registers per thread of our kernels' machine code, as the build made it: after tconv_kernels
# is built, `cuobjdump --dump-resource-usage` on it (demangled) goes to
# ${CMAKE_BINARY_DIR}/generated/kernel_resources.txt, which the CPU profiler reads for occupancy
# (cpu_cuda/profile/kernel_resources.hpp). Kept current by the build, never typed by hand.
# cuobjdump: the toolkit's, else the nvidia-cuda-cuobjdump wheel of the python3 on PATH (this
# toolkit's install has none; scripts/bootstrap.sh installs the wheel).
set(_cuobjdump_hints ${CUDAToolkit_BIN_DIR})
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import importlib.metadata as m; print(next(str(f.locate().parent) for f in m.files('nvidia-cuda-cuobjdump') if str(f).replace(chr(92), '/').endswith('bin/cuobjdump')))"
    OUTPUT_VARIABLE _cuobjdump_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cuobjdump_wheel)
    list(APPEND _cuobjdump_hints "${_cuobjdump_wheel}")
  endif()
endif()
find_program(TCONV_CUOBJDUMP cuobjdump HINTS ${_cuobjdump_hints})
find_program(TCONV_CXXFILT c++filt)
if(NOT TCONV_CUOBJDUMP)
  message(WARNING "cuobjdump not found: the CPU profiler's occupancy will not count registers "
                  "(run scripts/bootstrap.sh or `python3 -m pip install --no-deps nvidia-cuda-cuobjdump`)")
endif()
set(TCONV_KERNEL_RESOURCES ${CMAKE_BINARY_DIR}/generated/kernel_resources.txt)
add_custom_command(
  OUTPUT ${TCONV_KERNEL_RESOURCES}
  COMMAND ${CMAKE_COMMAND} -DCUOBJDUMP=${TCONV_CUOBJDUMP} -DCXXFILT=${TCONV_CXXFILT}
          -DIN=$<TARGET_FILE:tconv_kernels> -DOUT=${TCONV_KERNEL_RESOURCES}
          -P ${PROJECT_SOURCE_DIR}/cmake/dump_kernel_resources.cmake
  DEPENDS tconv_kernels $<TARGET_FILE:tconv_kernels> ${PROJECT_SOURCE_DIR}/cmake/dump_kernel_resources.cmake
  COMMENT "cuobjdump --dump-resource-usage libtconv_kernels -> kernel_resources.txt"
  VERBATIM)
add_custom_target(tconv_kernel_resources DEPENDS ${TCONV_KERNEL_RESOURCES})
