# llama.cpp itself as the oracle (#15): headers and prebuilt libraries of
# node-llama-cpp 3.21.1, fetched by scripts/fetch_fixtures.sh.
set(LLAMA_CPP_DIR ${CMAKE_SOURCE_DIR}/tests/data/llama.cpp)
if(NOT EXISTS ${LLAMA_CPP_DIR}/lib/libllama.v0.4.0.so)
  message(FATAL_ERROR "llama.cpp oracle missing in ${LLAMA_CPP_DIR}: run scripts/fetch_fixtures.sh (or scripts/setup.sh)")
endif()
# Imported targets oracle_ggml-base, oracle_ggml, oracle_llama, oracle_llama-common for tests and bench/.
foreach(lib ggml-base ggml llama llama-common)
  add_library(oracle_${lib} SHARED IMPORTED)
  set(file ${LLAMA_CPP_DIR}/lib/lib${lib}.so)
  if(lib STREQUAL "ggml" OR lib STREQUAL "llama")
    set(file ${LLAMA_CPP_DIR}/lib/lib${lib}.v0.4.0.so)
  endif()
  set_target_properties(oracle_${lib} PROPERTIES IMPORTED_LOCATION ${file} IMPORTED_NO_SONAME OFF
    INTERFACE_INCLUDE_DIRECTORIES ${LLAMA_CPP_DIR}/include)
endforeach()
