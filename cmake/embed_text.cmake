# Writes a .cpp that holds a text file as a raw string literal, returned by a function:
#
#   cmake -DINPUT=file -DOUTPUT=file.cpp -DHEADER=dir/x.h -DNAMESPACE=ns -DFUNCTION=name -P embed_text.cmake
#
# The function is declared in HEADER as `std::string_view FUNCTION();`. Run at build time by an
# add_custom_command that depends on INPUT, so the binary always serves the file as it is.
foreach(var INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_text.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" content)
set(delimiter "ms_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "embed_text.cmake: ${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()
file(SIZE "${INPUT}" size)

file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_text.cmake: do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace ${NAMESPACE} {\n\n"
  "std::string_view ${FUNCTION}() {\n"
  "  static constexpr char kText[] = R\"${delimiter}(${content})${delimiter}\";\n"
  "  static_assert(sizeof kText - 1 == ${size}, \"embedded text differs in size from ${INPUT}\");\n"
  "  return {kText, sizeof kText - 1};\n"
  "}\n\n"
  "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
