# Compile options shared by every strata target (library, kernels, tests, bench).
add_library(strata_compile_options INTERFACE)
target_compile_options(strata_compile_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>)
if(STRATA_NATIVE)
  target_compile_options(strata_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
