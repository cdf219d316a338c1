# `cmake --install build --prefix P` installs the SDK:
#   P/bin/strata                      the command line
#   P/lib/libstrata_core.so*          the core (what plugins link)
#   P/lib/libstrata_app.so*           the application library (experiments, training, HF, reports)
#   P/lib/libstrata_kernels_cuda.so   the CUDA kernels (CUDA builds)
#   P/lib/strata/plugins/*.so         the plugins built here
#   P/include/strata/...              the core's plugin-facing headers (with the generated build
#                                     fingerprint) and the application API's headers
#   P/lib/cmake/strata/               strataConfig.cmake: find_package(strata) gives
#                                     strata::core, strata::app and strata_add_plugin()
include(CMakePackageConfigHelpers)

set(STRATA_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/strata)

set_target_properties(strata_core strata_app PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
if(TARGET strata_kernels_cuda)
  # libstrata_core.so finds libstrata_kernels_cuda.so next to it.
  set_target_properties(strata_core PROPERTIES INSTALL_RPATH "$ORIGIN")
  set_target_properties(strata_kernels_cuda PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
  # In the export set: the installed strata::core names it as a link dependency.
  install(TARGETS strata_kernels_cuda EXPORT strataTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
set_target_properties(strata_app PROPERTIES INSTALL_RPATH "$ORIGIN")
set_target_properties(strata_cli PROPERTIES
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}" INSTALL_RPATH_USE_LINK_PATH TRUE)

install(TARGETS strata_core strata_app EXPORT strataTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS strata_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(STRATA_MPI_MODULE_TARGET)
  # Next to libstrata_app, where open_world() looks for it.
  set_target_properties(strata_mpi PROPERTIES INSTALL_RPATH "$ORIGIN" INSTALL_RPATH_USE_LINK_PATH TRUE)
  install(TARGETS strata_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/framework/core/include/strata DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/framework/app/include/strata DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${STRATA_FINGERPRINT_HEADER} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/strata)
install(EXPORT strataTargets NAMESPACE strata:: DESTINATION ${STRATA_CMAKE_INSTALL_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/strataConfig.cmake.in
  ${CMAKE_BINARY_DIR}/strataConfig.cmake INSTALL_DESTINATION ${STRATA_CMAKE_INSTALL_DIR}
  PATH_VARS STRATA_PLUGIN_INSTALL_DIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/strataConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/strataConfig.cmake ${CMAKE_BINARY_DIR}/strataConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/StrataPlugin.cmake DESTINATION ${STRATA_CMAKE_INSTALL_DIR})
