# Writes OUT, a header defining PARMAP_GIT_COMMIT: the short commit of the
# tree in SRC, with "-dirty" when tracked files differ from it ("unknown"
# outside a git checkout). Run at every build (bench/CMakeLists.txt), so that
# parmap-bench records the commit it was built from, not the one CMake was
# configured at; the file is rewritten only when its text changes.
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY "${SRC}"
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT commit)
  set(commit unknown)
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY "${SRC}"
                  OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes)
    string(APPEND commit "-dirty")
  endif()
endif()
set(text "#define PARMAP_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
