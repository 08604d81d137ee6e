# The manual page connector.1.gz, from what the binary itself says: help2man formats
# `connector --help`, and each subcommand's own --help becomes a subsection of COMMANDS,
# so a new subcommand or option reaches the page without anyone editing it.
# Usage: cmake -DCONNECTOR=<binary> -DHELP2MAN=<help2man> -DGZIP=<gzip> -DVERSION=<x.y.z>
#              -DINCLUDE=<static sections .h2m> -DDATE_EPOCH=<seconds> -DOUTPUT=<connector.1.gz>
#              -P man_page.cmake
get_filename_component(work "${OUTPUT}" DIRECTORY)

function(help_of out)  # ARGN: the arguments before --help
  execute_process(COMMAND "${CONNECTOR}" ${ARGN} --help OUTPUT_VARIABLE text
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man page: `connector ${ARGN} --help` failed (${rc})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Text as roff: backslashes and minus signs escaped, the one non-ASCII arrow as a roff
# glyph, and no line starting with a control character.
function(roff out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REPLACE "→" "\\(->" text "${text}")
  if(text MATCHES "^[.']")
    set(text "\\&${text}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# CLI11's help, line by line: the description, "Usage: PATH SUB ARGS", then "Options:" and
# "Positionals:" items ("  TERM  DESCRIPTION", a long TERM's description on the next line,
# indented).
function(subcommand_roff out name)
  help_of(help ${name})
  set(result "")
  set(state description)
  while(NOT help STREQUAL "")
    string(FIND "${help}" "\n" eol)
    if(eol EQUAL -1)
      set(line "${help}")
      set(help "")
    else()
      string(SUBSTRING "${help}" 0 ${eol} line)
      math(EXPR next "${eol} + 1")
      string(SUBSTRING "${help}" ${next} -1 help)
    endif()
    if(line MATCHES "^Usage: [^ ]+ ${name}(.*)$")
      roff(usage "${name}${CMAKE_MATCH_1}")
      string(PREPEND result ".SS \"connector ${usage}\"\n")
      set(state items)
    elseif(line STREQUAL "" OR line MATCHES "^[A-Z][a-z]*:$")
      # blank lines and the items' headings: every item says what it is
    elseif(state STREQUAL description)
      roff(text "${line}")
      string(APPEND result "${text}\n")
    elseif(line MATCHES "^  ([^ ]+)(( [^ ]+)*)  +([^ ].*)$")
      roff(term "${CMAKE_MATCH_1}")
      roff(rest "${CMAKE_MATCH_2}")
      roff(text "${CMAKE_MATCH_4}")
      string(APPEND result ".TP\n\\fB${term}\\fR${rest}\n${text}\n")
    elseif(line MATCHES "^  ([^ ]+)(.*)$")
      roff(term "${CMAKE_MATCH_1}")
      roff(rest "${CMAKE_MATCH_2}")
      string(APPEND result ".TP\n\\fB${term}\\fR${rest}\n")
    elseif(line MATCHES "^   +([^ ].*)$")
      roff(text "${CMAKE_MATCH_1}")
      string(APPEND result "${text}\n")
    else()
      message(FATAL_ERROR "man page: `connector ${name} --help`: cannot read \"${line}\"")
    endif()
  endwhile()
  if(NOT result MATCHES "^\\.SS")
    message(FATAL_ERROR "man page: `connector ${name} --help` has no Usage line")
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# The subcommands, as `connector --help` lists them.
help_of(top)
string(REGEX MATCH "\nSubcommands:\n.*" listed "${top}")
string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" names "${listed}")
if(NOT names)
  message(FATAL_ERROR "man page: `connector --help` lists no subcommands")
endif()
set(commands "[COMMANDS]\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  subcommand_roff(section ${name})
  string(APPEND commands "${section}")
endforeach()
file(WRITE "${work}/connector-commands.h2m" "${commands}")

# help2man runs `connector --help` itself. The date is the changelog's, so the same sources
# make the same page (reproducible builds); UTF-8 keeps the arrow for the replacement below.
set(ENV{SOURCE_DATE_EPOCH} "${DATE_EPOCH}")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --section=1 --locale=C.UTF-8 --version-string=${VERSION}
          "--name=keeps iSpring Learn users in step with Salesforce"
          --include=${INCLUDE} --include=${work}/connector-commands.h2m
          --output=${work}/connector.1 "${CONNECTOR}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man page: help2man failed (${rc})")
endif()
file(READ "${work}/connector.1" page)
string(REPLACE "→" "\\(->" page "${page}")
file(WRITE "${work}/connector.1" "${page}")
# As Debian compresses manual pages: best compression, no name or time stamp in the header.
execute_process(COMMAND "${GZIP}" -9n -c "${work}/connector.1" OUTPUT_FILE "${OUTPUT}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man page: gzip failed (${rc})")
endif()
