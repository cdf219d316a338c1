# Checks prepare.cmake on small sources: what it translates (launches, __shared__ in their
# forms), what it leaves alone (comments, string and character literals, digit separators,
# line numbers), and what it refuses with the file and line (constructs the emulator does
# not handle). Run by ctest:  cmake -DPREPARE=<prepare.cmake> -DWORK=<scratch dir> -P check_prepare.cmake
cmake_minimum_required(VERSION 3.20)
file(MAKE_DIRECTORY "${WORK}")

function(translate name text out_result out_text out_error)
  file(WRITE "${WORK}/${name}.cu" "${text}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -DINPUT=${WORK}/${name}.cu -DOUTPUT=${WORK}/${name}.cpp -P "${PREPARE}"
                  RESULT_VARIABLE result ERROR_VARIABLE error OUTPUT_QUIET)
  set(${out_result} "${result}" PARENT_SCOPE)
  set(${out_error} "${error}" PARENT_SCOPE)
  if(result EQUAL 0)
    file(READ "${WORK}/${name}.cpp" translated)
    set(${out_text} "${translated}" PARENT_SCOPE)
  endif()
endfunction()

set(failures 0)
function(complain message)
  message(SEND_ERROR "check_prepare: ${message}")
endfunction()
# `needle` must occur in `haystack`.
function(expect_in haystack needle message)
  string(FIND "${haystack}" "${needle}" at)
  if(at EQUAL -1)
    complain("${message}")
  endif()
endfunction()

# ---- translated -----------------------------------------------------------------------
set(good [=[// a comment with k<<<1, 2>>>(x) and __shared__ float c[4];
/* a block comment: __shared__ int b; asm("nop"); */
const char* text = "__shared__ x; k<<<1, 1>>>(); asm";
const char quote = '"', apostrophe = '\'';
const long big = 1'000'000;
template <class T, int N>
__global__ void __launch_bounds__(256, 2) kernel(T* out, int n) {
  __shared__ T scratch[32];
  static __shared__ __align__(16) double tile[N][33];
  extern __shared__ __align__(16) unsigned char raw[];
  __shared__ Pair<T, N> pair;
  out[0] = scratch[0] + tile[0][0] + raw[0] + pair.a;
}
void host(float* out, int n) {
  kernel<float, 4><<<blocks(n, 2),
                     dim3(256, 1),
                     1024>>>(out,
                             n);
  ns::other<<<1, 32>>>();
  if (n) simple<<<1, 32, 0, 0>>>(out); else simple<<<2, 32>>>(out);
}
]=])
translate(good "${good}" result text error)
if(NOT result EQUAL 0)
  complain("a valid source was refused: ${error}")
endif()
if(result EQUAL 0)
  string(FIND "${text}" "#line 1 " at)  # the body follows the 3 header lines
  string(SUBSTRING "${text}" ${at} -1 body)
  string(FIND "${body}" "\n" at)
  math(EXPR at "${at} + 1")
  string(SUBSTRING "${body}" ${at} -1 body)
  string(REGEX REPLACE "[^\n]" "" good_lines "${good}")
  string(REGEX REPLACE "[^\n]" "" body_lines "${body}")
  if(NOT good_lines STREQUAL body_lines)
    complain("the line count changed")
  endif()
  foreach(kept [[// a comment with k<<<1, 2>>>(x) and __shared__ float c[4];]]
               [[/* a block comment: __shared__ int b; asm("nop"); */]]
               [["__shared__ x; k<<<1, 1>>>(); asm"]] [['"', apostrophe = '\'']] [[1'000'000]])
    expect_in("${body}" "${kept}" "comment or literal changed: ${kept}")
  endforeach()
  foreach(made
      [[typedef T emu_shared_type_scratch[32]; static const ::emu::SharedSite emu_shared_site_scratch{"scratch"}; emu_shared_type_scratch& scratch = ::emu::shared<emu_shared_type_scratch, 1>(emu_shared_site_scratch);]]
      [[typedef double emu_shared_type_tile[N][33];]] [[::emu::shared<emu_shared_type_tile, 16>]]
      [[unsigned char* const raw = ::emu::dynamic_shared<unsigned char, 16>();]]
      [[typedef Pair<T, N> emu_shared_type_pair;]]
      [[::emu::launch(::emu::Config(blocks(n, 2),
                     dim3(256, 1),
                     1024).at("kernel<float, 4>", __FILE__, 15).bounds(256).address(reinterpret_cast<const void*>(&kernel<float, 4>)), [&](auto&... emu_arguments) { kernel<float, 4>(emu_arguments...); }, out,
                             n)]]
      [[::emu::launch(::emu::Config(1, 32).at("ns::other", __FILE__, 19), [&](auto&... emu_arguments) { ns::other(emu_arguments...); })]]
      [[if (n) ::emu::launch(::emu::Config(1, 32, 0, 0).at("simple", __FILE__, 20).address(]]
      [[else ::emu::launch(::emu::Config(2, 32).at("simple", __FILE__, 20), ]])
    expect_in("${body}" "${made}" "translation missing: ${made}\n--- got:\n${body}")
  endforeach()
endif()

# ---- refused, with file and line ------------------------------------------------------
set(bad_names "")
macro(bad name text expected)
  list(APPEND bad_names ${name})
  set(bad_text_${name} "${text}")
  set(bad_expected_${name} "${expected}")
endmacro()
bad(inline_ptx "__global__ void k() {\n  asm volatile(\"nop\");\n}\n" "bad_inline_ptx.cu:2: cuda emulation: `asm`")
bad(constant "__constant__ float table[4];\n" "`__constant__` is not emulated")
bad(two_variables "__global__ void k() {\n  __shared__ float a[4], b[4];\n}\n" "cannot read the __shared__ declaration")
bad(initialiser "__global__ void k() {\n  __shared__ float a = 0;\n}\n" "no initialiser")
bad(sized_extern "__global__ void k() {\n  extern __shared__ float d[16];\n}\n" "array of unknown size")
bad(unsized_static "__global__ void k() {\n  __shared__ float d[];\n}\n" "needs its size")
bad(pointer_launch "void h() {\n  (*fp)<<<1, 32>>>(0);\n}\n" "must name its kernel")
bad(no_arguments "void h() {\n  k<<<1, 32>>>;\n}\n" "argument list")
bad(raw_string "const char* s = R\"(x)\";\n" "raw string")
bad(open_comment "/* never closed\n" "unterminated comment")
bad(cooperative "#include <cooperative_groups.h>\nnamespace cg = cooperative_groups;\n" "cooperative_groups")
foreach(name IN LISTS bad_names)
  translate(bad_${name} "${bad_text_${name}}" result text error)
  if(result EQUAL 0)
    complain("${name}: accepted")
  endif()
  string(REGEX REPLACE "[ \n]+" " " flat_error "${error}")  # CMake wraps long messages
  expect_in("${flat_error}" "${bad_expected_${name}}" "${name}: expected `${bad_expected_${name}}` in the error, got: ${error}")
endforeach()

message(STATUS "check_prepare: done (any failure above is a SEND_ERROR: the script exits non-zero)")
