# Compile options shared by every strata target (library, kernels, tests, bench).
add_library(strata_compile_options INTERFACE)
target_compile_options(strata_compile_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>)
# Nothing reads errno after a math call; without this, GCC keeps std::sqrt scalar (it must
# set errno for negative inputs) and loops like AdamW's do not vectorise.
target_compile_options(strata_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fno-math-errno>)
if(STRATA_NATIVE)
  target_compile_options(strata_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
