# Applies a unified diff (`diff -u`, `git diff`, `git format-patch`) to one
# variant file, exactly: every hunk's old text (its context and `-` lines)
# must occur exactly once in the file, as whole lines.  The line numbers of
# the `@@` header are not used to place a hunk, only to report; a hunk whose
# text is not found, or is found in more than one place, is an error naming
# the patch file, the hunk and its line.  No fuzz, no offsets: a patch either
# says exactly where it goes or it does not apply.
#
# Written in CMake script rather than as a small host program: the variants
# are generated at configure time (the build's list of sources depends on
# them), so the patch must apply -- or fail, naming the hunk -- before any
# compiler runs; CMake is already the one tool every build has, and
# `cmake -P` runs this file directly (tests/patches/).
#
# Text is handled as strings, never as CMake lists, so that C++'s `;`, `[`,
# `]` and `\` pass through untouched.
#
# Script mode: cmake -DPATCH=file.patch -DSOURCES_DIR=dir -DOUT=file
#                    [-DFILES=a.cpp,b.cpp] -P patch.cmake
# writes the patched text of the file the patch names (looked up by its base
# name in SOURCES_DIR, among FILES when given) to OUT.

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  cmake_minimum_required(VERSION 3.25) # the policies of the project's build
endif()

# Counts the lines of `text` before offset `at` (so the 1-based line of the
# character at `at`).
function(_untorn_line_at text at out)
  string(SUBSTRING "${text}" 0 ${at} before)
  string(LENGTH "${before}" n0)
  string(REPLACE "\n" "" stripped "${before}")
  string(LENGTH "${stripped}" n1)
  math(EXPR line "${n0} - ${n1} + 1")
  set(${out} ${line} PARENT_SCOPE)
endfunction()

# untorn_apply_patch(PATCH <file> SOURCES_DIR <dir> [FILES <names>...]
#                    [DISPLAY <name for messages>]
#                    OUT_TEXT <var> OUT_FILE <var> OUT_ORIGIN <var>)
# OUT_TEXT: the patched text; OUT_FILE: the base name of the file patched;
# OUT_ORIGIN: the first line of the free text before the diff (its
# "Subject:" line if it has one), empty if there is none.
function(untorn_apply_patch)
  cmake_parse_arguments(A "" "PATCH;SOURCES_DIR;DISPLAY;OUT_TEXT;OUT_FILE;OUT_ORIGIN" "FILES" ${ARGN})
  set(where "${A_PATCH}")
  if(A_DISPLAY)
    set(where "${A_DISPLAY}")
  endif()
  if(NOT EXISTS "${A_PATCH}")
    message(FATAL_ERROR "${where}: no such patch file")
  endif()
  file(READ "${A_PATCH}" p)
  string(REPLACE "\r\n" "\n" p "${p}")
  if(NOT p MATCHES "\n$")
    string(APPEND p "\n")
  endif()

  # --- parse: preamble, one ---/+++ pair, hunks --------------------------
  set(state pre) # pre, plus (after ---), between (after +++ or a hunk), hunk
  set(lineno 0)
  set(nh 0)
  set(origin "")
  set(subject "")
  set(target "")
  set(rest "${p}")
  while(NOT rest STREQUAL "")
    string(FIND "${rest}" "\n" nl)
    string(SUBSTRING "${rest}" 0 ${nl} line)
    math(EXPR nl "${nl} + 1")
    string(SUBSTRING "${rest}" ${nl} -1 rest)
    math(EXPR lineno "${lineno} + 1")

    if(state STREQUAL "hunk")
      string(SUBSTRING "${line}" 0 1 c)
      string(LENGTH "${line}" len)
      if(len GREATER 0)
        string(SUBSTRING "${line}" 1 -1 body)
      else()
        set(body "") # an empty context line whose leading space was lost
      endif()
      if(line STREQUAL "" OR c STREQUAL " ")
        string(APPEND old "${body}\n")
        string(APPEND new "${body}\n")
        math(EXPR need_old "${need_old} - 1")
        math(EXPR need_new "${need_new} - 1")
      elseif(c STREQUAL "-")
        string(APPEND old "${body}\n")
        math(EXPR need_old "${need_old} - 1")
      elseif(c STREQUAL "+")
        string(APPEND new "${body}\n")
        math(EXPR need_new "${need_new} - 1")
      elseif(c STREQUAL "\\")
        # "\ No newline at end of file": the variant files all end in one
      else()
        message(FATAL_ERROR "${where}:${lineno}: hunk ${nh} (line ${hline}) ends early: "
                            "${need_old} old and ${need_new} new lines still expected by its @@ header")
      endif()
      if(need_old LESS 0 OR need_new LESS 0)
        message(FATAL_ERROR "${where}:${lineno}: hunk ${nh} (line ${hline}) has more lines than its @@ header counts")
      endif()
      if(need_old EQUAL 0 AND need_new EQUAL 0)
        set(h${nh}_old "${old}")
        set(h${nh}_new "${new}")
        set(state between)
      endif()
      continue()
    endif()

    if(state STREQUAL "pre")
      if(line MATCHES "^--- ")
        set(state plus)
        string(REGEX REPLACE "^--- ([^\t]*).*$" "\\1" minus_path "${line}")
        set(minus_line ${lineno})
      else()
        if(origin STREQUAL "" AND line MATCHES "[^ \t]")
          string(STRIP "${line}" origin)
        endif()
        if(subject STREQUAL "" AND line MATCHES "^Subject: ")
          string(REGEX REPLACE "^Subject: *" "" subject "${line}")
          string(STRIP "${subject}" subject)
        endif()
      endif()
      continue()
    endif()

    if(state STREQUAL "plus")
      if(NOT line MATCHES "^\\+\\+\\+ ")
        message(FATAL_ERROR "${where}:${lineno}: expected the `+++ ` line after `--- ` (line ${minus_line})")
      endif()
      string(REGEX REPLACE "^\\+\\+\\+ ([^\t]*).*$" "\\1" plus_path "${line}")
      foreach(v minus_path plus_path)
        string(STRIP "${${v}}" ${v})
        string(REGEX REPLACE "^[ab]/" "" ${v} "${${v}}")
        get_filename_component(${v} "${${v}}" NAME)
      endforeach()
      if(NOT minus_path STREQUAL plus_path)
        message(FATAL_ERROR "${where}:${lineno}: the diff's --- and +++ name different files "
                            "(${minus_path}, ${plus_path}): a variant patch changes one variant file in place")
      endif()
      set(target "${plus_path}")
      set(state between)
      continue()
    endif()

    # state between: a hunk header, another file (refused) or trailing text
    if(line MATCHES "^@@ -([0-9]+)(,([0-9]+))? \\+([0-9]+)(,([0-9]+))? @@")
      math(EXPR nh "${nh} + 1")
      set(h${nh}_line ${lineno})
      set(h${nh}_at ${CMAKE_MATCH_1})
      set(hline ${lineno})
      set(need_old 1)
      set(need_new 1)
      if(NOT CMAKE_MATCH_3 STREQUAL "")
        set(need_old ${CMAKE_MATCH_3})
      endif()
      if(NOT CMAKE_MATCH_6 STREQUAL "")
        set(need_new ${CMAKE_MATCH_6})
      endif()
      set(old "")
      set(new "")
      set(state hunk)
      if(need_old EQUAL 0 AND need_new EQUAL 0)
        set(h${nh}_old "")
        set(h${nh}_new "")
        set(state between)
      endif()
    elseif(line MATCHES "^--- " OR line MATCHES "^\\+\\+\\+ ")
      message(FATAL_ERROR "${where}:${lineno}: a second file in the diff: a variant patch changes exactly one variant file")
    endif()
    # anything else after the hunks (a `git format-patch` signature) is ignored
  endwhile()

  if(state STREQUAL "hunk")
    message(FATAL_ERROR "${where}:${lineno}: hunk ${nh} (line ${hline}) is cut short: "
                        "${need_old} old and ${need_new} new lines still expected by its @@ header")
  endif()
  if(target STREQUAL "")
    message(FATAL_ERROR "${where}: no `--- file` / `+++ file` lines: not a unified diff")
  endif()
  if(nh EQUAL 0)
    message(FATAL_ERROR "${where}: the diff of ${target} has no hunk (`@@ -l,n +l,n @@`)")
  endif()
  if(A_FILES)
    list(FIND A_FILES "${target}" found)
    if(found EQUAL -1)
      string(REPLACE ";" ", " names "${A_FILES}")
      message(FATAL_ERROR "${where}:${minus_line}: the diff patches ${target}, which is not a variant file "
                          "(expected one of: ${names})")
    endif()
  endif()
  set(src "${A_SOURCES_DIR}/${target}")
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "${where}:${minus_line}: the diff patches ${target}, not found in ${A_SOURCES_DIR}")
  endif()
  file(READ "${src}" f)
  string(LENGTH "${f}" flen)

  # --- place every hunk in the original file: exactly once ---------------
  set(haystack "\n${f}")
  set(order "")
  foreach(i RANGE 1 ${nh})
    if(h${i}_old STREQUAL "")
      message(FATAL_ERROR "${where}:${h${i}_line}: hunk ${i} has no context or removed lines, so it "
                          "could go anywhere in ${target}: give it context lines (diff -u)")
    endif()
    # every line-aligned occurrence, overlapping ones included
    set(needle "\n${h${i}_old}")
    set(found "")
    set(base 0)
    set(hs "${haystack}")
    while(TRUE)
      string(FIND "${hs}" "${needle}" at)
      if(at EQUAL -1)
        break()
      endif()
      math(EXPR pos "${base} + ${at}") # offset in f of the occurrence's first character
      list(APPEND found ${pos})
      math(EXPR skip "${at} + 1")
      math(EXPR base "${base} + ${skip}")
      string(SUBSTRING "${hs}" ${skip} -1 hs)
    endwhile()
    list(LENGTH found n)
    string(REGEX MATCHALL "\n" olines "${h${i}_old}")
    list(LENGTH olines nold)
    if(n EQUAL 0)
      message(FATAL_ERROR "${where}:${h${i}_line}: hunk ${i} (@@ -${h${i}_at}) does not apply: "
                          "its ${nold} old lines (context and `-` lines) are not found in ${target}")
    endif()
    if(n GREATER 1)
      set(lines "")
      foreach(pos IN LISTS found)
        _untorn_line_at("${f}" ${pos} l)
        list(APPEND lines ${l})
      endforeach()
      string(REPLACE ";" ", " lines "${lines}")
      message(FATAL_ERROR "${where}:${h${i}_line}: hunk ${i} (@@ -${h${i}_at}) is ambiguous: "
                          "its ${nold} old lines occur ${n} times in ${target}, at lines ${lines}; "
                          "add context lines until they occur once")
    endif()
    set(h${i}_pos ${found})
    string(LENGTH "${h${i}_old}" h${i}_len)
    string(LENGTH "${found}" digits) # sorted by offset: zero-padded to 12 digits
    math(EXPR npad "12 - ${digits}")
    string(REPEAT "0" ${npad} pad)
    list(APPEND order "${pad}${found}:${i}")
  endforeach()
  list(SORT order)

  # --- splice: the hunks in file order, refusing overlaps -----------------
  set(out "")
  set(done 0)
  set(prev 0)
  foreach(entry IN LISTS order)
    string(REGEX REPLACE "^.*:" "" i "${entry}")
    if(h${i}_pos LESS done)
      _untorn_line_at("${f}" ${h${i}_pos} l)
      message(FATAL_ERROR "${where}:${h${i}_line}: hunk ${i} overlaps hunk ${prev} in ${target} (at line ${l})")
    endif()
    math(EXPR keep "${h${i}_pos} - ${done}")
    string(SUBSTRING "${f}" ${done} ${keep} piece)
    string(APPEND out "${piece}${h${i}_new}")
    math(EXPR done "${h${i}_pos} + ${h${i}_len}")
    set(prev ${i})
  endforeach()
  string(SUBSTRING "${f}" ${done} -1 piece)
  string(APPEND out "${piece}")

  if(NOT subject STREQUAL "")
    set(origin "${subject}")
  endif()
  set(${A_OUT_TEXT} "${out}" PARENT_SCOPE)
  set(${A_OUT_FILE} "${target}" PARENT_SCOPE)
  set(${A_OUT_ORIGIN} "${origin}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT DEFINED PATCH OR NOT DEFINED SOURCES_DIR OR NOT DEFINED OUT)
    message(FATAL_ERROR "usage: cmake -DPATCH=file.patch -DSOURCES_DIR=dir -DOUT=file [-DFILES=a.cpp,b.cpp] -P patch.cmake")
  endif()
  set(files "")
  if(DEFINED FILES)
    string(REPLACE "," ";" files "${FILES}")
  endif()
  untorn_apply_patch(PATCH "${PATCH}" SOURCES_DIR "${SOURCES_DIR}" FILES ${files}
                     OUT_TEXT text OUT_FILE file OUT_ORIGIN origin)
  file(WRITE "${OUT}" "${text}")
endif()
