# XGBoost's C API. Debian's libxgboost-dev is CPU-only and its CMake config is broken unless
# the `xgboost` CLI package is installed too (it names /usr/bin/xgboost), so by default we
# make the imported target by hand. A CUDA-enabled XGBoost (1.7 or 2.x/3.x) from another
# prefix is used with -DXGBOOST_ROOT=/opt/xgboost (its lib/ or lib64/ and include/); the
# recipe to build one is in docs/training.md ("GPU training"). Configuring says which
# XGBoost was found, its version, and whether it has CUDA (it runs XGBuildInfo()).
set(XGBOOST_ROOT "" CACHE PATH "prefix of a (CUDA-enabled) XGBoost to use instead of the system one")

# A new XGBOOST_ROOT must search again, not keep the library found for the previous one.
if(NOT "${XGBOOST_ROOT}" STREQUAL "${HEMOLENS_XGBOOST_ROOT_SEARCHED}")
  unset(XGBOOST_LIBRARY CACHE)
  unset(XGBOOST_INCLUDE_DIR CACHE)
  set(HEMOLENS_XGBOOST_ROOT_SEARCHED "${XGBOOST_ROOT}" CACHE INTERNAL "")
endif()

if(XGBOOST_ROOT)
  find_library(XGBOOST_LIBRARY xgboost PATHS ${XGBOOST_ROOT}/lib ${XGBOOST_ROOT}/lib64 NO_DEFAULT_PATH)
  find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h PATHS ${XGBOOST_ROOT}/include NO_DEFAULT_PATH)
  if(NOT XGBOOST_LIBRARY OR NOT XGBOOST_INCLUDE_DIR)
    message(FATAL_ERROR "XGBOOST_ROOT=${XGBOOST_ROOT} holds no XGBoost: expected lib/libxgboost.so (or lib64/) and "
                        "include/xgboost/c_api.h there (found library: ${XGBOOST_LIBRARY}, headers: ${XGBOOST_INCLUDE_DIR}). "
                        "docs/training.md, \"GPU training\", shows how to build and install one.")
  endif()
else()
  find_library(XGBOOST_LIBRARY xgboost REQUIRED)
  find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
endif()
add_library(xgboost::xgboost SHARED IMPORTED)
set_target_properties(xgboost::xgboost PROPERTIES IMPORTED_LOCATION "${XGBOOST_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${XGBOOST_INCLUDE_DIR}")

# Ask the library itself: its version and whether it was built with CUDA (XGBuildInfo).
set(_xgb_probe_source "${CMAKE_BINARY_DIR}/CMakeFiles/xgboost_probe.c")
file(WRITE "${_xgb_probe_source}" [=[
#include <stdio.h>
#include <string.h>
#include <xgboost/c_api.h>
int main(void) {
  int major = 0, minor = 0, patch = 0;
  const char* info = "";
  XGBoostVersion(&major, &minor, &patch);
  if (XGBuildInfo(&info) != 0) return 1;
  printf("%d.%d.%d;%s", major, minor, patch, strstr(info, "\"USE_CUDA\":true") ? "ON" : "OFF");
  return 0;
}
]=])
try_run(_xgb_run _xgb_compiled "${CMAKE_BINARY_DIR}/CMakeFiles/xgboost_probe" "${_xgb_probe_source}"
  CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${XGBOOST_INCLUDE_DIR}"
  LINK_LIBRARIES "${XGBOOST_LIBRARY}"
  COMPILE_OUTPUT_VARIABLE _xgb_compile_output
  RUN_OUTPUT_VARIABLE _xgb_probe)
if(_xgb_compiled AND _xgb_run EQUAL 0)
  list(GET _xgb_probe 0 HEMOLENS_XGBOOST_VERSION)
  list(GET _xgb_probe 1 HEMOLENS_XGBOOST_CUDA)
  if(HEMOLENS_XGBOOST_CUDA)
    set(_xgb_cuda "with CUDA: train --device auto uses a GPU when the job has one")
  else()
    set(_xgb_cuda "CPU only: training runs on the CPU; for GPU training configure with -DXGBOOST_ROOT=<a CUDA-enabled XGBoost> (docs/training.md)")
  endif()
else()
  set(HEMOLENS_XGBOOST_VERSION "unknown")
  set(HEMOLENS_XGBOOST_CUDA "UNKNOWN")
  set(_xgb_cuda "CUDA unknown: the probe program did not run (a CUDA-enabled XGBoost may need the CUDA runtime on the library path)")
endif()
message(STATUS "hemolens: XGBoost ${HEMOLENS_XGBOOST_VERSION} at ${XGBOOST_LIBRARY}, ${_xgb_cuda}")
