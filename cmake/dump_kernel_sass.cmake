# cmake -DCUOBJDUMP=... -DNVDISASM=... -DIN=libtconv_kernels.a -DOUT=kernel_sass.txt -P this
# Writes the sm_90 machine code of IN, disassembled with source lines and their inline chains
# (`nvdisasm -gi`; the CUDA objects are compiled with -lineinfo), to OUT (atomically), or a line
# saying why not. Read by cpu_cuda/profile/kernel_sass.cpp for the profiler's instruction issue.
get_filename_component(_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_dir}")
if(NOT CUOBJDUMP OR NOT NVDISASM)
  file(WRITE "${OUT}" "# unavailable: cuobjdump or nvdisasm was not found when the build was "
                      "configured (scripts/bootstrap.sh installs the nvidia-cuda-cuobjdump and "
                      "nvidia-cuda-nvdisasm wheels)\n")
  return()
endif()
set(_work "${OUT}.cubins")
file(REMOVE_RECURSE "${_work}")
file(MAKE_DIRECTORY "${_work}")
execute_process(COMMAND "${CUOBJDUMP}" -xelf all "${IN}" WORKING_DIRECTORY "${_work}"
                OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
# Only sm_90: the profiler models an H200 and reads the code a plain sm_90 build runs there
# (the sm_90a objects hold the wgmma kernels, which the CPU runtime does not run).
file(GLOB _cubins "${_work}/*.sm_90.cubin")
list(SORT _cubins)
if(NOT rc EQUAL 0 OR NOT _cubins)
  string(REPLACE "\n" " " err "${err}")
  file(WRITE "${OUT}" "# unavailable: ${CUOBJDUMP} -xelf all found no sm_90 code (${rc}): ${err}\n")
  file(REMOVE_RECURSE "${_work}")
  return()
endif()
set(_parts "")
foreach(_c IN LISTS _cubins)
  execute_process(COMMAND "${NVDISASM}" -gi -c "${_c}" OUTPUT_FILE "${_c}.sass"
                  ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE "\n" " " err "${err}")
    file(WRITE "${OUT}" "# unavailable: ${NVDISASM} -gi failed on ${_c} (${rc}): ${err}\n")
    file(REMOVE_RECURSE "${_work}")
    return()
  endif()
  list(APPEND _parts "${_c}.sass")
endforeach()
execute_process(COMMAND "${CMAKE_COMMAND}" -E cat ${_parts} OUTPUT_FILE "${OUT}.tmp"
                RESULT_VARIABLE rc)
file(REMOVE_RECURSE "${_work}")
if(NOT rc EQUAL 0)
  file(WRITE "${OUT}" "# unavailable: concatenating the disassembly failed (${rc})\n")
  file(REMOVE "${OUT}.tmp")
  return()
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
