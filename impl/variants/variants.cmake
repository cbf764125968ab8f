# The table of variants: every variant untorn knows is one row here, and
# everything else -- the Variant enum, the dispatch of a run to the variant's
# entry points, the names every command accepts, the loader's error, the
# source file reports point at, what a variant inherits from its base -- is
# generated from it (into the build tree: include/untorn/variant_table.h and
# variant_table.cpp).  Nothing outside this file lists variants by name.
#
# Two kinds of row:
# - a kernel version, stated by one file of impl/variants/ (untorn_variant()
#   below, one call per file);
# - a patch of one of them: impl/variants/patches/NAME.patch, a unified diff
#   of one kernel version's file (docs/patches.md).  Each file in that folder
#   is a row by itself: NAME is a variant, its base the version whose file the
#   diff names; CMake applies the diff exactly (patch.cmake) and compiles the
#   patched copy in a namespace of its own.  The folder is globbed with
#   CONFIGURE_DEPENDS, so adding or changing a patch reconfigures the build.
#
# Each row is a Variant: the kernel versions first (enumerators of their
# identifier), then the patches in file-name order (by index).
#
# A row: NAME (what commands and case files say), SOURCE (its file in
# impl/variants/, whose namespace untorn::kern::<file stem> holds it),
# ATOMIC_BIO_RULE (which iomap rule makes a mapping a REQ_ATOMIC bio: the one
# the file passes to iomap_dio_rw, AtomicBioRule in untorn/impl.h; the facts
# of a trace read it from here), WRITE_ITER and LIMITS (the two entry points:
# expressions evaluated in the variant's namespace, with `ip` the inode and
# `w` the write), ORIGIN (what it mirrors, one line).  A patch inherits all
# but NAME, SOURCE and ORIGIN from its base, its entry points resolved in its
# own namespace (so the patched copy of every function is the one called).
#
# Variant names: letters, digits and `.+-_`.  The C++ identifier of a
# variant (its enumerator and namespace) is the name with every other
# character made `_`, and `p_` in front if it starts with a digit; two names
# with the same identifier are refused.

include(${CMAKE_CURRENT_LIST_DIR}/patch.cmake)

set(UNTORN_VARIANT_IDS "")
set(UNTORN_VARIANT_SOURCES "")
set(UNTORN_VARIANT_GEN ${CMAKE_CURRENT_BINARY_DIR}/variants)

function(_untorn_variant_ident name out)
  if(NOT name MATCHES "^[A-Za-z0-9][A-Za-z0-9.+_-]*$")
    message(FATAL_ERROR "variant name \"${name}\": only letters, digits and . + - _ are allowed, "
                        "starting with a letter or digit")
  endif()
  string(REGEX REPLACE "[^A-Za-z0-9_]" "_" id "${name}")
  if(id MATCHES "^[0-9]")
    set(id "p_${id}")
  endif()
  foreach(other IN LISTS UNTORN_VARIANT_IDS)
    if(other STREQUAL id)
      message(FATAL_ERROR "variant \"${name}\": its identifier ${id} is that of \"${UV_${id}_NAME}\" "
                          "(every character but letters, digits and _ becomes _): rename one of them")
    endif()
  endforeach()
  set(${out} ${id} PARENT_SCOPE)
endfunction()

# A kernel version: one file of impl/variants/.
macro(untorn_variant)
  cmake_parse_arguments(UVA "" "NAME;SOURCE;ATOMIC_BIO_RULE;WRITE_ITER;LIMITS;ORIGIN" "" ${ARGN})
  _untorn_variant_ident("${UVA_NAME}" UVA_ID)
  list(APPEND UNTORN_VARIANT_IDS ${UVA_ID})
  get_filename_component(UVA_NS "${UVA_SOURCE}" NAME_WE)
  set(UV_${UVA_ID}_NAME "${UVA_NAME}")
  set(UV_${UVA_ID}_BASE ${UVA_ID})
  set(UV_${UVA_ID}_NS ${UVA_NS})
  set(UV_${UVA_ID}_FILE "${UVA_SOURCE}")
  set(UV_${UVA_ID}_SOURCE "impl/variants/${UVA_SOURCE}")
  set(UV_${UVA_ID}_RULE ${UVA_ATOMIC_BIO_RULE})
  set(UV_${UVA_ID}_WRITE_ITER "${UVA_WRITE_ITER}")
  set(UV_${UVA_ID}_LIMITS "${UVA_LIMITS}")
  set(UV_${UVA_ID}_ORIGIN "${UVA_ORIGIN}")
  set(UV_${UVA_ID}_PATCH FALSE)
  list(APPEND UNTORN_VARIANT_SOURCES ${CMAKE_CURRENT_LIST_DIR}/${UVA_SOURCE})
endmacro()

# ------------------------------------------------------------------ the table

untorn_variant(NAME rfc-v1 SOURCE rfc_v1.cpp ATOMIC_BIO_RULE rfc_not_atomic_cow
  WRITE_ITER "xfs_file_write_iter(ip, w)"
  LIMITS "atomic_write_limits(ip)"
  ORIGIN "[PATCH RFC 00/10] large atomic writes for xfs with CoW (Feb 2025, on v6.14-rc1)")
untorn_variant(NAME v6.16 SOURCE v6_16.cpp ATOMIC_BIO_RULE mapping_flag_v616
  WRITE_ITER "xfs_file_write_iter(ip, w, xfs_atomic_write_cow_iomap_begin)"
  LIMITS "atomic_write_limits(ip)"
  ORIGIN "Linux v6.16 as released")
untorn_variant(NAME v6.18 SOURCE v6_18.cpp ATOMIC_BIO_RULE mapping_flag_v616
  WRITE_ITER "xfs_file_write_iter(ip, w)"
  LIMITS "v6_16::atomic_write_limits(ip)" # v6.18 keeps v6.16's limits
  ORIGIN "v6.16 + stable fixes 8d54eacd82a0 and 8d7bba1e8314")

# ------------------------------------------------------------------ patches

set(UNTORN_KERNEL_VARIANT_IDS ${UNTORN_VARIANT_IDS})
set(UNTORN_PATCH_VARIANT_IDS "")
set(_uv_files "")
foreach(id IN LISTS UNTORN_KERNEL_VARIANT_IDS)
  list(APPEND _uv_files ${UV_${id}_FILE})
endforeach()
file(GLOB _uv_patches CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/patches/*.patch)
list(SORT _uv_patches)
foreach(patch IN LISTS _uv_patches)
  get_filename_component(pname "${patch}" NAME)
  string(REGEX REPLACE "\\.patch$" "" name "${pname}")
  file(RELATIVE_PATH prel ${CMAKE_SOURCE_DIR} ${patch})
  _untorn_variant_ident("${name}" id)
  untorn_apply_patch(PATCH "${patch}" SOURCES_DIR "${CMAKE_CURRENT_LIST_DIR}" FILES ${_uv_files} DISPLAY "${prel}"
                     OUT_TEXT text OUT_FILE file OUT_ORIGIN origin)
  set(base "")
  foreach(k IN LISTS UNTORN_KERNEL_VARIANT_IDS)
    if(UV_${k}_FILE STREQUAL file)
      set(base ${k})
    endif()
  endforeach()
  # the patched copy lives in a namespace of its own
  set(ns ${UV_${base}_NS})
  foreach(decl "namespace untorn::kern::${ns} {" "} // namespace untorn::kern::${ns}")
    string(FIND "${text}" "${decl}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${prel}: the patched ${file} has no line `${decl}`: "
                          "a patch must keep the variant's namespace lines")
    endif()
  endforeach()
  string(REPLACE "namespace untorn::kern::${ns} {" "namespace untorn::kern::${id} {" text "${text}")
  string(REPLACE "} // namespace untorn::kern::${ns}" "} // namespace untorn::kern::${id}" text "${text}")
  # Two header lines (so a line of the copy is the patched file's line + 2),
  # then the table's entry points, after the code so that no line moves.
  set(out ${UNTORN_VARIANT_GEN}/${id}.cpp)
  file(WRITE ${out}.new
    "// GENERATED by impl/variants/variants.cmake from ${prel}: do not edit.\n"
    "// impl/variants/${file} with the patch applied, in namespace untorn::kern::${id}.\n"
    "${text}"
    "\n// The entry points the variant table calls (impl/variants/variants.cmake).\n"
    "namespace untorn::kern::${id} {\n"
    "ssize_ret table_write_iter(xfs_inode *ip, const WriteReq &w) { return ${UV_${base}_WRITE_ITER}; }\n"
    "AtomicLimits table_limits(xfs_inode *ip) { return ${UV_${base}_LIMITS}; }\n"
    "} // namespace untorn::kern::${id}\n")
  configure_file(${out}.new ${out} COPYONLY) # rewritten only when it changes
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${CMAKE_CURRENT_LIST_DIR}/${file} ${patch})
  list(APPEND UNTORN_VARIANT_IDS ${id})
  list(APPEND UNTORN_PATCH_VARIANT_IDS ${id})
  list(APPEND UNTORN_VARIANT_SOURCES ${out})
  set(UV_${id}_NAME "${name}")
  set(UV_${id}_BASE ${base})
  set(UV_${id}_SOURCE "${prel}")
  set(UV_${id}_RULE ${UV_${base}_RULE})
  set(UV_${id}_ORIGIN "${origin}")
  set(UV_${id}_PATCH TRUE)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_FILE} ${CMAKE_CURRENT_LIST_DIR}/patch.cmake)

# ------------------------------------------------------------------ generated

# A C++ string literal of `s`.
function(_untorn_cxx_string s out)
  string(REPLACE "\\" "\\\\" s "${s}")
  string(REPLACE "\"" "\\\"" s "${s}")
  string(REPLACE "\t" " " s "${s}")
  set(${out} "\"${s}\"" PARENT_SCOPE)
endfunction()

# untorn/variant_table.h: the kernel versions' enumerators.  The patches are
# not in it (they follow the kernel versions, by index, in variant_table.cpp),
# so that adding or changing a patch recompiles only the table and the
# patched copy, not everything that includes untorn/impl.h.
set(_uv_enum "")
set(_uv_kernels "")
foreach(id IN LISTS UNTORN_KERNEL_VARIANT_IDS)
  string(APPEND _uv_enum "${id}, ")
  string(APPEND _uv_kernels "Variant::${id}, ")
endforeach()
list(LENGTH UNTORN_KERNEL_VARIANT_IDS _uv_nk)
file(WRITE ${UNTORN_VARIANT_GEN}/include/untorn/variant_table.h.new
  "// GENERATED by impl/variants/variants.cmake from its table: do not edit.\n"
  "// untorn/impl.h expands these inside namespace untorn.\n"
  "#define UNTORN_KERNEL_VARIANT_ENUMERATORS ${_uv_enum}\n"
  "#define UNTORN_KERNEL_VARIANT_COUNT ${_uv_nk}\n"
  "#define UNTORN_KERNEL_VARIANTS ${_uv_kernels}\n")
configure_file(${UNTORN_VARIANT_GEN}/include/untorn/variant_table.h.new
               ${UNTORN_VARIANT_GEN}/include/untorn/variant_table.h COPYONLY)

# variant_table.cpp: the rows, with the kernel versions' entry points.
set(_uv_cpp "// GENERATED by impl/variants/variants.cmake from its table and impl/variants/patches/: do not edit.\n")
string(APPEND _uv_cpp "// Compiled with impl's logic (so for the prover too: see value.h).\n")
string(APPEND _uv_cpp "#include \"variants.h\"\n\nnamespace untorn::kern {\n\n")
foreach(id IN LISTS UNTORN_VARIANT_IDS)
  if(UV_${id}_PATCH)
    string(APPEND _uv_cpp "namespace ${id} { // defined at the end of its generated source\n"
      "ssize_ret table_write_iter(xfs_inode *ip, const WriteReq &w);\n"
      "AtomicLimits table_limits(xfs_inode *ip);\n"
      "} // namespace ${id}\n")
  else()
    string(APPEND _uv_cpp "namespace ${UV_${id}_NS} {\n"
      "static ssize_ret table_write_iter(xfs_inode *ip, const WriteReq &w) { return ${UV_${id}_WRITE_ITER}; }\n"
      "static AtomicLimits table_limits(xfs_inode *ip) { return ${UV_${id}_LIMITS}; }\n"
      "} // namespace ${UV_${id}_NS}\n")
  endif()
endforeach()
string(APPEND _uv_cpp "\nconst VariantRow variant_rows[] = {\n")
set(_uv_index 0)
set(_uv_patches_list "")
foreach(id IN LISTS UNTORN_VARIANT_IDS)
  if(UV_${id}_PATCH)
    string(APPEND _uv_patches_list "Variant(${_uv_index}), ")
  endif()
  math(EXPR _uv_index "${_uv_index} + 1")
  set(ns ${id})
  if(NOT UV_${id}_PATCH)
    set(ns ${UV_${id}_NS})
  endif()
  _untorn_cxx_string("${UV_${id}_NAME}" qname)
  _untorn_cxx_string("${UV_${id}_SOURCE}" qsource)
  _untorn_cxx_string("${UV_${id}_ORIGIN}" qorigin)
  string(APPEND _uv_cpp "\t{${qname}, Variant::${UV_${id}_BASE}, ${qsource}, ${qorigin},\n"
    "\t AtomicBioRule::${UV_${id}_RULE}, ${ns}::table_write_iter, ${ns}::table_limits},\n")
endforeach()
list(LENGTH UNTORN_PATCH_VARIANT_IDS _uv_np)
string(APPEND _uv_cpp "};\nconst size_t variant_row_count = sizeof variant_rows / sizeof variant_rows[0];\n\n"
  "} // namespace untorn::kern\n\n"
  "namespace untorn {\n"
  "static constexpr std::array<Variant, ${_uv_np}> patch_variants = {${_uv_patches_list}};\n"
  "const std::span<const Variant> whatif_variants{patch_variants};\n"
  "} // namespace untorn\n")
file(WRITE ${UNTORN_VARIANT_GEN}/variant_table.cpp.new "${_uv_cpp}")
configure_file(${UNTORN_VARIANT_GEN}/variant_table.cpp.new ${UNTORN_VARIANT_GEN}/variant_table.cpp COPYONLY)
list(APPEND UNTORN_VARIANT_SOURCES ${UNTORN_VARIANT_GEN}/variant_table.cpp)
set(UNTORN_VARIANT_INCLUDE ${UNTORN_VARIANT_GEN}/include)
