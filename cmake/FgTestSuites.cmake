# fg_discover_suites(target [ENVIRONMENT var=value ...] [FIXTURES name ...] [TIMEOUT s]
#                    [SLOW suite ...])
#
# One CTest test per GoogleTest *suite* of a test binary (`--gtest_filter=Suite.*`), where
# gtest_discover_tests makes one per test. Every test process loads libtorch first (2-3 s,
# more under ASan), and the binaries hold ~380 tests in ~55 suites: per-test processes
# spent about 15 of the plain suite's CPU minutes and more under ASan just loading.
#
# The suites are listed when ctest starts (like gtest_discover_tests' PRE_TEST mode), and
# the list is kept until the binary changes. SLOW names suites that get a high COST, so a
# fresh machine (no CTest cost data yet) starts them first instead of last. Run one test of
# a suite with the binary itself: build/dev/tests/campaign_test --gtest_filter=Runner.X
set(FG_TEST_SUITES_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/FgTestSuitesAdd.cmake")

function(fg_discover_suites target)
  cmake_parse_arguments(ARG "" "TIMEOUT" "ENVIRONMENT;FIXTURES;SLOW" ${ARGN})
  set(list_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites_include.cmake")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 1500)
  endif()
  file(GENERATE OUTPUT "${include_file}" CONTENT
"set(FG_SUITES_BINARY [==[$<TARGET_FILE:${target}>]==])
set(FG_SUITES_LIST_FILE [==[${list_file}]==])
set(FG_SUITES_ENVIRONMENT [==[${ARG_ENVIRONMENT}]==])
set(FG_SUITES_FIXTURES [==[${ARG_FIXTURES}]==])
set(FG_SUITES_TIMEOUT [==[${ARG_TIMEOUT}]==])
set(FG_SUITES_SLOW [==[${ARG_SLOW}]==])
include([==[${FG_TEST_SUITES_SCRIPT}]==])
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
