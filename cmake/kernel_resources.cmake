# The registers per thread of our kernels' machine code, as the build made it: after tconv_kernels
# is built, `cuobjdump --dump-resource-usage` on it (demangled) goes to
# ${CMAKE_BINARY_DIR}/generated/kernel_resources.txt, which the CPU profiler reads for occupancy
# (cpu_cuda/profile/kernel_resources.hpp). Kept current by the build, never typed by hand.
# Likewise its machine code, disassembled with source lines, goes to kernel_sass.txt for the
# profiler's instruction issue (cpu_cuda/profile/kernel_sass.hpp).
# cuobjdump and nvdisasm: the toolkit's, else the nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm
# wheels of the python3 on PATH (this toolkit's install has neither; scripts/bootstrap.sh
# installs the wheels).
find_package(Python3 COMPONENTS Interpreter QUIET)
function(_tconv_find_cuda_tool var tool wheel)
  set(hints ${CUDAToolkit_BIN_DIR})
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" -c
              "import importlib.metadata as m; print(next(str(f.locate().parent) for f in m.files('${wheel}') if str(f).replace(chr(92), '/').endswith('bin/${tool}')))"
      OUTPUT_VARIABLE from_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(from_wheel)
      list(APPEND hints "${from_wheel}")
    endif()
  endif()
  find_program(${var} ${tool} HINTS ${hints})
endfunction()
_tconv_find_cuda_tool(TCONV_CUOBJDUMP cuobjdump nvidia-cuda-cuobjdump)
_tconv_find_cuda_tool(TCONV_NVDISASM nvdisasm nvidia-cuda-nvdisasm)
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
if(NOT TCONV_NVDISASM)
  message(WARNING "nvdisasm not found: the CPU profiler will not count instruction issue "
                  "(run scripts/bootstrap.sh or `python3 -m pip install --no-deps nvidia-cuda-nvdisasm`)")
endif()
set(TCONV_KERNEL_SASS ${CMAKE_BINARY_DIR}/generated/kernel_sass.txt)
add_custom_command(
  OUTPUT ${TCONV_KERNEL_SASS}
  COMMAND ${CMAKE_COMMAND} -DCUOBJDUMP=${TCONV_CUOBJDUMP} -DNVDISASM=${TCONV_NVDISASM}
          -DIN=$<TARGET_FILE:tconv_kernels> -DOUT=${TCONV_KERNEL_SASS}
          -P ${PROJECT_SOURCE_DIR}/cmake/dump_kernel_sass.cmake
  DEPENDS tconv_kernels $<TARGET_FILE:tconv_kernels> ${PROJECT_SOURCE_DIR}/cmake/dump_kernel_sass.cmake
  COMMENT "nvdisasm -gi on the sm_90 code of libtconv_kernels -> kernel_sass.txt"
  VERBATIM)
add_custom_target(tconv_kernel_resources DEPENDS ${TCONV_KERNEL_RESOURCES} ${TCONV_KERNEL_SASS})
