# find_package(gpdot) : the imported target gpdot::gpdot (libgpdot and its headers).
include("${CMAKE_CURRENT_LIST_DIR}/gpdotTargets.cmake")
