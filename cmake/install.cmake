# `cmake --install build --prefix P` and `cpack`: a relocatable tree a cluster installs once for
# all its users (README, "Installing on a cluster"):
#
#   P/bin/hemolens                      RUNPATH $ORIGIN/../lib/hemolens only: no build-machine path
#   P/lib/hemolens/                     the libraries not from the system's packages, carried along:
#                                       libcudart (with the CUDA backend: a node needs only the
#                                       NVIDIA driver) and libxgboost (with -DXGBOOST_ROOT)
#   P/share/hemolens/{jobs,slurm,docs,data/sample}, README.md
#   P/share/modulefiles/hemolens/VERSION   for Lmod and Environment Modules (module load hemolens)
#
# Everything else (OpenCV, HDF5, TBB, Debian's XGBoost, ...) comes from the system's packages;
# the .deb names them as dependencies (dpkg-shlibdeps).
include(GNUInstallDirs)

set_target_properties(hemolens PROPERTIES INSTALL_RPATH "$ORIGIN/../lib/hemolens")
install(TARGETS hemolens RUNTIME_DEPENDENCY_SET hemolens_private_libs RUNTIME DESTINATION bin)

# Only the libraries that no Debian package provides are carried: matched by name here,
# resolved through the build tree's RUNPATH at install time.
set(_private_libs "libcudart\\.so")
if(XGBOOST_ROOT)
  list(APPEND _private_libs "libxgboost\\.so")
endif()
install(RUNTIME_DEPENDENCY_SET hemolens_private_libs
  PRE_INCLUDE_REGEXES ${_private_libs}
  PRE_EXCLUDE_REGEXES ".*"
  LIBRARY DESTINATION lib/hemolens)

set(_share share/hemolens)
install(DIRECTORY jobs/ DESTINATION ${_share}/jobs FILES_MATCHING PATTERN "*.toml")
install(PROGRAMS slurm/submit slurm/stage.sbatch slurm/local-cluster DESTINATION ${_share}/slurm)
install(FILES slurm/README.md DESTINATION ${_share}/slurm)
install(DIRECTORY docs/ DESTINATION ${_share}/docs)
install(FILES README.md DESTINATION ${_share})
# The sample images, so that the installed jobs/sample.toml runs (its dataset is ../data/sample).
install(DIRECTORY data/sample DESTINATION ${_share}/data)

# The modulefile knows its own place; the prefix it was installed to is its fallback, filled
# in at install time (cmake --install --prefix decides it then, not at configure time).
set(HEMOLENS_INSTALLED_PREFIX "@HEMOLENS_INSTALLED_PREFIX@")
configure_file(cmake/hemolens.modulefile.in ${CMAKE_BINARY_DIR}/modulefile/hemolens.in @ONLY)
install(CODE "
  set(HEMOLENS_INSTALLED_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_BINARY_DIR}/modulefile/hemolens.in\" \"${CMAKE_BINARY_DIR}/modulefile/${PROJECT_VERSION}\" @ONLY)
")
install(FILES ${CMAKE_BINARY_DIR}/modulefile/${PROJECT_VERSION} DESTINATION share/modulefiles/hemolens)

# cpack: build/hemolens-VERSION-Linux.tar.gz (relocatable: unpack anywhere, `module use
# DIR/share/modulefiles`) and build/hemolens_VERSION_amd64.deb (installs under /usr).
set(CPACK_PACKAGE_NAME hemolens)
set(CPACK_PACKAGE_VENDOR "hemolens")
set(CPACK_PACKAGE_CONTACT "hemolens developers <dev@hemolens>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "classical features of blood-cell microscope images, XGBoost classifier, SLURM job chains")
set(CPACK_GENERATOR "TGZ;DEB")
set(CPACK_PACKAGE_FILE_NAME "hemolens-${PROJECT_VERSION}-${CMAKE_SYSTEM_NAME}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcudart (and a custom libxgboost) travel in the package: dpkg-shlibdeps finds them there.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/_CPack_Packages/${CMAKE_SYSTEM_NAME}/DEB/${CPACK_PACKAGE_FILE_NAME}/usr/lib/hemolens")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-h5py, python3-pandas, lmod | environment-modules")
include(CPack)
