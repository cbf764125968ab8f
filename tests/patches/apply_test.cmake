# One test of impl/variants/patch.cmake on a fixture of tests/data/patches/:
#   cmake -DNAME=<fixture> -DEXPECT=ok -DWORK=<dir> -P apply_test.cmake
#     the patch applies and the result equals <fixture>.expected byte for byte;
#   cmake -DNAME=<fixture> -DEXPECT=<regex> -DWORK=<dir> -P apply_test.cmake
#     the patch is refused: `cmake -P patch.cmake` fails, its message matches
#     <regex> (the patch file, the hunk, the line), and it writes nothing.
cmake_minimum_required(VERSION 3.25)
get_filename_component(repo "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(data "${repo}/tests/data/patches")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(out "${WORK}/${NAME}.cpp")
execute_process(
  COMMAND ${CMAKE_COMMAND} -DPATCH=${data}/${NAME}.patch -DSOURCES_DIR=${data} -DFILES=base.cpp -DOUT=${out}
          -P ${repo}/impl/variants/patch.cmake
  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
if(EXPECT STREQUAL "ok")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}.patch should apply, but: ${stderr}")
  endif()
  file(READ "${out}" got)
  file(READ "${data}/${NAME}.expected" want)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "${NAME}.patch: the patched text differs from ${NAME}.expected:\n${got}")
  endif()
else()
  if(rc EQUAL 0)
    message(FATAL_ERROR "${NAME}.patch should be refused, but it applied")
  endif()
  string(REGEX REPLACE "[ \n]+" " " flat "${stderr}") # CMake wraps its messages
  if(NOT flat MATCHES "${EXPECT}")
    message(FATAL_ERROR "${NAME}.patch: the error does not match `${EXPECT}`:\n${stderr}")
  endif()
  if(EXISTS "${out}")
    message(FATAL_ERROR "${NAME}.patch: refused, yet it wrote ${out}")
  endif()
endif()
