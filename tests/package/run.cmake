# Installs the build tree into a scratch prefix, configures the consumer
# against it with the host C++ compiler only, builds and runs it.
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${PARMAP_BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
                        "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
                        -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
foreach(program consumer no_openmp_consumer)
  execute_process(COMMAND "${WORK_DIR}/build/${program}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${program} failed: ${rc}")
  endif()
endforeach()

# The MPI consumer, when there is one, under mpirun with two ranks.
if(EXISTS "${WORK_DIR}/build/mpi_consumer" AND MPIEXEC)
  execute_process(COMMAND "${MPIEXEC}" -np 2 --oversubscribe --allow-run-as-root
                          "${WORK_DIR}/build/mpi_consumer" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "the MPI consumer failed: ${rc}")
  endif()
elseif(MPIEXEC)
  message(FATAL_ERROR "parmap was built with MPI but the consumer has no parmap::mpi")
endif()
