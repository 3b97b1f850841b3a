# Writes OUTPUT (a header) with the commit the tree is at and a digest of every source file the
# program is built from, so that a resume can tell one build from another: uncommitted edits and
# trees without git included. Run at every build; the header changes only when they do.
execute_process(COMMAND git describe --always --dirty --abbrev=12 WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR NOT commit)
  set(commit unknown)
endif()
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.hpp ${SOURCE_DIR}/sweep/*.cpp ${SOURCE_DIR}/sweep/*.hpp
  ${SOURCE_DIR}/models/*.cpp ${SOURCE_DIR}/models/*.hpp ${SOURCE_DIR}/CMakeLists.txt
  ${SOURCE_DIR}/src/CMakeLists.txt ${SOURCE_DIR}/sweep/CMakeLists.txt ${SOURCE_DIR}/models/CMakeLists.txt)
list(SORT sources)
set(all "")
foreach(source IN LISTS sources)
  file(SHA256 ${SOURCE_DIR}/${source} digest)
  string(APPEND all "${source} ${digest}\n")
endforeach()
string(SHA256 digest "${all}")
string(SUBSTRING ${digest} 0 16 digest)
set(text "#pragma once\n#define ICL_GIT_COMMIT \"${commit}\"\n#define ICL_SOURCE_DIGEST \"${digest}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUTPUT} "${text}")
endif()
