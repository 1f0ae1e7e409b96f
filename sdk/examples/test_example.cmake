# cmake -DBUILD_DIR=<Capstan build tree> -DEXAMPLE_DIR=<sdk/examples/hello-driver> -DWORK_DIR=<scratch>
#       -P test_example.cmake
# Installs the SDK component of BUILD_DIR into WORK_DIR/prefix, builds the example against that
# prefix alone and runs its tests (the installed conformance kit on the example plugin).
foreach(var BUILD_DIR EXAMPLE_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "test_example.cmake: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sdk example: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run("install of the SDK" ${CMAKE_COMMAND} --install ${BUILD_DIR} --component sdk --prefix ${prefix})
foreach(f include/capstan/driver.h include/capstan/driver_sdk.hpp include/capstan/driver_types.hpp
          include/capstan/driver_json.hpp bin/capstan-plugin-conformance
          lib/cmake/CapstanDriverSDK/CapstanDriverSDKConfig.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "sdk example: the install lacks ${f}")
  endif()
endforeach()
# Only the prefix: no package registry, nothing of the Capstan tree.
run("configure of the example" ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run("build of the example" ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j1)
run("conformance of the example" ${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
message(STATUS "sdk example: built against ${prefix} alone and conformant")
