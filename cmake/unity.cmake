# Unity builds (WP_UNITY, docs/building.md § Unity builds): each of the
# project's own static libraries and multi-source executables compiles its
# .cc files WP_UNITY_BATCH_SIZE at a time as one translation unit, so the
# heavy headers (DPDK, protobuf, fmt/spdlog, nlohmann, httplib) are parsed once
# per batch instead of once per file. Single-source targets (the unit tests,
# fuzz targets, benchmarks, waypointd's main) gain nothing and stay as they are.
# Generated protobuf code (wp_proto) stays out: proto/CMakeLists.txt marks it
# SKIP_UNITY_BUILD_INCLUSION. tools/unity_scan.py lists the names two files of
# one target would clash on; keep it silent when adding a file.
option(WP_UNITY "Unity (jumbo) builds of the project's libraries: fewer, larger compiles" ON)
set(WP_UNITY_BATCH_SIZE 8 CACHE STRING "Source files per unity translation unit (WP_UNITY)")

# wp_enable_unity(DIR): every multi-source STATIC library or executable defined
# in DIR or below it.
function(wp_enable_unity dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "STATIC_LIBRARY" AND NOT type STREQUAL "EXECUTABLE")
      continue()
    endif()
    get_target_property(srcs ${t} SOURCES)
    list(FILTER srcs INCLUDE REGEX "\\.cc$")
    list(FILTER srcs EXCLUDE REGEX "\\.pb\\.cc$")
    list(LENGTH srcs n)
    if(n GREATER 1)
      set_target_properties(${t} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${WP_UNITY_BATCH_SIZE})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d IN LISTS subdirs)
    wp_enable_unity(${d})
  endforeach()
endfunction()
