# Writes CTEST_FILE: one ctest test per GoogleTest suite of TEST_BINARY (--gtest_filter=Suite.*),
# labelled `unit`. Run after every build of the binary (tests/CMakeLists.txt).
#
# Why suites and not single tests: every test process loads LibTorch first, ~0.5 s of CPU (more
# under AddressSanitizer); with ~440 tests that startup was minutes of the suite's time, and one
# process per suite keeps ctest's parallelism and its pass/fail report per area.
# Suites whose every test is DISABLED_ get no entry (demo_quick runs DemoQuick by name).
execute_process(COMMAND "${TEST_BINARY}" --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE status
                TIMEOUT 120)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${TEST_BINARY} --gtest_list_tests failed (${status}):\n${listing}")
endif()

string(REPLACE "\n" ";" lines "${listing}")
set(suites "")
set(suite "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ #][^ ]*)\\.")        # "Suite." or "Prefix/Suite.  # TypeParam = ..."
    set(suite "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^  ([^ ]+)" AND NOT suite STREQUAL "")
    if(NOT CMAKE_MATCH_1 MATCHES "^DISABLED_" AND NOT suite MATCHES "^DISABLED_")
      list(APPEND suites "${suite}")
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES suites)
list(LENGTH suites count)
if(count EQUAL 0)
  message(FATAL_ERROR "${TEST_BINARY} lists no enabled test")
endif()

set(script "# Written by tests/suite_tests.cmake after each build of the test binary.\n")
foreach(s IN LISTS suites)
  string(APPEND script
    "add_test([==[${s}]==] [==[${TEST_BINARY}]==] [==[--gtest_filter=${s}.*]==] --gtest_brief=1)\n"
    "set_tests_properties([==[${s}]==] PROPERTIES LABELS unit\n"
    # src/lavender/runtime/omp_wait_policy.h: idle OpenMP threads must not spin.
    "                     ENVIRONMENT OMP_WAIT_POLICY=PASSIVE)\n")
endforeach()
file(WRITE "${CTEST_FILE}.tmp" "${script}")
file(RENAME "${CTEST_FILE}.tmp" "${CTEST_FILE}")
