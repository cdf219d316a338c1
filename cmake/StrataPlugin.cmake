# strata_add_plugin(<name> <sources>...)
#
# Builds the plugin library strata_plugin_<name>.so (the file name the loader looks for)
# from <sources>, linked to libstrata_core, with hidden visibility: only the two Boost.DLL
# aliases of STRATA_PLUGIN are exported, so plugins cannot interpose on each other.
# Unresolved symbols fail at link time rather than at load time.
#
# Output folder: STRATA_PLUGIN_OUTPUT_DIRECTORY when set (the strata tree sets it to
# build/lib/strata/plugins, where `strata` looks by default), else the current binary
# folder. Point `strata` at it with --plugin-path, STRATA_PLUGIN_PATH or [plugins] paths.
function(strata_add_plugin name)
  set(target strata_plugin_${name})
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE strata::core)
  target_compile_features(${target} PRIVATE cxx_std_20)
  # The plugin's name as a string literal, e.g. for naming its ops in the backend table
  # ("<plugin>.<op>"), so that a renamed copy of a plugin does not collide with the original.
  target_compile_definitions(${target} PRIVATE STRATA_PLUGIN_NAME="${name}")
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${target}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # (Not in the fuzz build: clang links the sanitizer runtimes into executables only, so a
  # sanitized plugin's sanitizer symbols resolve when the fuzzer loads it.)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT STRATA_FUZZ)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  if(STRATA_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${STRATA_PLUGIN_OUTPUT_DIRECTORY})
  endif()
  if(STRATA_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${STRATA_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
