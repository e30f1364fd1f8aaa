# cmake -DCUOBJDUMP=... -DCXXFILT=... -DIN=libtconv_kernels.a -DOUT=kernel_resources.txt -P this
# Writes `cuobjdump --dump-resource-usage IN`, its symbols demangled, to OUT (atomically), or a
# line saying why not. Read by cpu_cuda/profile/kernel_resources.cpp.
get_filename_component(_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_dir}")
if(NOT CUOBJDUMP OR NOT CXXFILT)
  file(WRITE "${OUT}" "# unavailable: cuobjdump or c++filt was not found when the build was configured "
                      "(scripts/bootstrap.sh installs the nvidia-cuda-cuobjdump wheel)\n")
  return()
endif()
execute_process(COMMAND "${CUOBJDUMP}" --dump-resource-usage "${IN}"
                COMMAND "${CXXFILT}"
                OUTPUT_FILE "${OUT}.tmp" ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  string(REPLACE "\n" " " err "${err}")
  file(WRITE "${OUT}" "# unavailable: ${CUOBJDUMP} --dump-resource-usage failed (${rc}): ${err}\n")
  file(REMOVE "${OUT}.tmp")
  return()
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
