# CMake helpers of the Capstan driver SDK, installed with its package config (and used by the
# Capstan tree itself, so in-tree and third-party plugins are built the same way).
#
# capstan_add_driver(NAME SOURCES src.cc ... [TARGET target] [OUTPUT_DIRECTORY dir])
#   A plugin module capstan-driver-NAME.so (target: capstan-driver-NAME unless TARGET is given):
#   no "lib" prefix; hidden visibility plus a linker version script that keeps every symbol but
#   capstan_driver_entry local (hidden visibility alone still exports the instantiations of
#   libstdc++ templates, which the host's copies could then interpose); linked with
#   --no-undefined so that a reference to anything outside the plugin and the libraries it links
#   (the host included) fails the build instead of the dlopen.
#
# capstan_add_conformance_test(NAME test DRIVER target [CONFIG json] [LABELS label ...])
#   A CTest running the conformance kit (capstan-plugin-conformance) on the driver target.
include_guard(GLOBAL)

function(capstan_add_driver name)
  cmake_parse_arguments(ARG "" "TARGET;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_TARGET)
    set(ARG_TARGET capstan-driver-${name})
  endif()
  add_library(${ARG_TARGET} MODULE ${ARG_SOURCES})
  set_target_properties(${ARG_TARGET} PROPERTIES
    PREFIX "" SUFFIX ".so" OUTPUT_NAME "capstan-driver-${name}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${ARG_TARGET} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
  target_link_libraries(${ARG_TARGET} PRIVATE CapstanDriverSDK::sdk)
  set(map ${CMAKE_BINARY_DIR}/capstan-driver-exports.map)
  if(NOT EXISTS ${map})
    file(WRITE ${map} "{\n  global: capstan_driver_entry;\n  local: *;\n};\n")
  endif()
  target_link_options(${ARG_TARGET} PRIVATE "LINKER:--no-undefined" "LINKER:--version-script=${map}")
  set_property(TARGET ${ARG_TARGET} APPEND PROPERTY LINK_DEPENDS ${map})
endfunction()

function(capstan_add_conformance_test name)
  cmake_parse_arguments(ARG "" "DRIVER;CONFIG" "LABELS" ${ARGN})
  if(NOT ARG_CONFIG)
    set(ARG_CONFIG "null")
  endif()
  add_test(NAME ${name}
           COMMAND $<TARGET_FILE:CapstanDriverSDK::conformance> $<TARGET_FILE:${ARG_DRIVER}> --config "${ARG_CONFIG}")
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
