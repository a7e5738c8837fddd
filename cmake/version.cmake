# Computes CHASQUID_VERSION and CHASQUID_SOURCE_DATE at configure time:
# SOURCE_DATE_EPOCH wins (reproducible builds); else the git commit date.
set(_date "$ENV{SOURCE_DATE_EPOCH}")
set(_rev "")
execute_process(COMMAND git rev-parse HEAD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                OUTPUT_VARIABLE _rev OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _rc)
if(NOT _date)
  execute_process(COMMAND git log -1 --format=%ct WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE _date OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT _date)
  string(TIMESTAMP _date "%s" UTC)
endif()
execute_process(COMMAND git status --porcelain --untracked-files=no
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                OUTPUT_VARIABLE _dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND date -u -d @${_date} +%Y%m%d OUTPUT_VARIABLE _ymd
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_rev)
  string(SUBSTRING "${_rev}" 0 9 _short)
  set(CHASQUID_VERSION_STR "${_ymd}-${_short}")
  if(_dirty)
    set(CHASQUID_VERSION_STR "${CHASQUID_VERSION_STR}-dirty")
  endif()
else()
  set(CHASQUID_VERSION_STR "${_ymd}-unknown")
endif()
# Re-run when a commit is made, so the version names the commit built.
if(EXISTS ${CMAKE_SOURCE_DIR}/.git/logs/HEAD)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${CMAKE_SOURCE_DIR}/.git/logs/HEAD)
endif()
