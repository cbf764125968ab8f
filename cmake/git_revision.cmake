# Run at build time (cmake -P): writes OUT, a header defining
# UNTORN_GIT_REVISION as the source tree's git revision ("" when it is not a
# git checkout or git is missing), and rewrites it only when it changed, so
# an unchanged revision rebuilds nothing.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  set(rev "")
endif()
set(text "#define UNTORN_GIT_REVISION \"${rev}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
