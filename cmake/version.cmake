# Runs at build time (tools/CMakeLists.txt): writes OUT from IN with the
# commit of the source tree SRC, so `--version` names the commit the binary
# was built from. A tree without its own .git (a release tarball, even one
# unpacked inside another repository) says "unknown"; uncommitted changes
# add "-dirty". configure_file rewrites OUT only when its text changes, so
# an unchanged commit rebuilds nothing.
set(commit unknown)
execute_process(COMMAND git -C "${SRC}" rev-parse --show-toplevel OUTPUT_VARIABLE top
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(rc EQUAL 0)
  file(REAL_PATH "${top}" top)
  file(REAL_PATH "${SRC}" src)
endif()
if(rc EQUAL 0 AND top STREQUAL src)
  execute_process(COMMAND git -C "${SRC}" rev-parse --short=12 HEAD OUTPUT_VARIABLE head
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND NOT head STREQUAL "")
    set(commit "${head}")
    execute_process(COMMAND git -C "${SRC}" diff --quiet HEAD -- RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND commit "-dirty")
    endif()
  endif()
endif()
set(WP_GIT_COMMIT "${commit}")
configure_file("${IN}" "${OUT}" @ONLY)
