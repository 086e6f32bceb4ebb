# XGBoost's C API. Debian's libxgboost-dev is CPU-only and its CMake config is broken unless
# the `xgboost` CLI package is installed too (it names /usr/bin/xgboost), so by default we
# make the imported target by hand. A CUDA-enabled XGBoost (1.7 or 2.x/3.x) from another
# prefix is used with -DXGBOOST_ROOT=/opt/xgboost (its lib/ and include/).
set(XGBOOST_ROOT "" CACHE PATH "prefix of a (CUDA-enabled) XGBoost to use instead of the system one")
if(XGBOOST_ROOT)
  find_library(XGBOOST_LIBRARY xgboost PATHS ${XGBOOST_ROOT}/lib ${XGBOOST_ROOT}/lib64 NO_DEFAULT_PATH REQUIRED)
  find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h PATHS ${XGBOOST_ROOT}/include NO_DEFAULT_PATH REQUIRED)
else()
  find_library(XGBOOST_LIBRARY xgboost REQUIRED)
  find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
endif()
add_library(xgboost::xgboost SHARED IMPORTED)
set_target_properties(xgboost::xgboost PROPERTIES IMPORTED_LOCATION "${XGBOOST_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${XGBOOST_INCLUDE_DIR}")
message(STATUS "hemolens: XGBoost ${XGBOOST_LIBRARY}")
