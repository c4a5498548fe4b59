# Run by ctest (through a test binary's TEST_INCLUDE_FILES entry, see FgTestSuites.cmake):
# lists the binary's GoogleTest suites when the binary is newer than the kept list, and
# declares one test per suite. Inputs: FG_SUITES_BINARY, FG_SUITES_LIST_FILE,
# FG_SUITES_ENVIRONMENT, FG_SUITES_FIXTURES, FG_SUITES_TIMEOUT, FG_SUITES_SLOW.
get_filename_component(fg_suites_target "${FG_SUITES_BINARY}" NAME)
if(NOT EXISTS "${FG_SUITES_BINARY}")
  add_test("${fg_suites_target}_NOT_BUILT" "${fg_suites_target}_NOT_BUILT")
  return()
endif()
if(NOT EXISTS "${FG_SUITES_LIST_FILE}" OR "${FG_SUITES_BINARY}" IS_NEWER_THAN "${FG_SUITES_LIST_FILE}")
  execute_process(COMMAND "${FG_SUITES_BINARY}" --gtest_list_tests
                  OUTPUT_VARIABLE fg_out ERROR_VARIABLE fg_err RESULT_VARIABLE fg_rc TIMEOUT 300)
  if(NOT fg_rc EQUAL 0)
    message(FATAL_ERROR "${FG_SUITES_BINARY} --gtest_list_tests failed (${fg_rc}):\n${fg_out}\n${fg_err}")
  endif()
  string(REPLACE ";" "\\;" fg_out "${fg_out}")
  string(REPLACE "\n" ";" fg_lines "${fg_out}")
  set(fg_content "")
  foreach(fg_line IN LISTS fg_lines)
    # A suite line: no indentation, the name, a dot, maybe "  # TypeParam = ..." after it.
    if(fg_line MATCHES "^([^ #]+)\\.( .*)?$")
      set(fg_suite "${CMAKE_MATCH_1}")
      set(fg_cost 1)
      list(FIND FG_SUITES_SLOW "${fg_suite}" fg_slow)
      if(NOT fg_slow EQUAL -1)
        set(fg_cost 1000)
      endif()
      string(APPEND fg_content
        "add_test([==[${fg_suite}]==] [==[${FG_SUITES_BINARY}]==] [==[--gtest_filter=${fg_suite}.*]==])\n"
        "set_tests_properties([==[${fg_suite}]==] PROPERTIES ENVIRONMENT [==[${FG_SUITES_ENVIRONMENT}]==]"
        " FIXTURES_REQUIRED [==[${FG_SUITES_FIXTURES}]==] TIMEOUT [==[${FG_SUITES_TIMEOUT}]==]"
        " COST ${fg_cost})\n")
    endif()
  endforeach()
  file(WRITE "${FG_SUITES_LIST_FILE}" "${fg_content}")
endif()
include("${FG_SUITES_LIST_FILE}")
