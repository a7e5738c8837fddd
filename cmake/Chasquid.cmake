# Shared build helpers. Each src/<dir>/CMakeLists.txt calls
#   chasquid_library(<dir> SOURCES a.cc b.cc DEPS chasquid_base ...)
#   chasquid_test(<dir> SOURCES a_test.cc DEPS ...)
# The library target is chasquid_<dir>; includes are rooted at src/.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Protobuf REQUIRED)
set(Boost_NO_WARN_NEW_VERSIONS ON)
find_package(Boost 1.81 EXACT REQUIRED COMPONENTS json)
pkg_check_modules(GFLAGS REQUIRED IMPORTED_TARGET gflags)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
pkg_check_modules(IDN2 REQUIRED IMPORTED_TARGET libidn2)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(PROFILER IMPORTED_TARGET libprofiler)

# Boost.Asio as a compiled library once, not in every translation unit.
add_library(chasquid_boost_asio STATIC ${CMAKE_SOURCE_DIR}/cmake/asio_impl.cc)
target_compile_definitions(chasquid_boost_asio PUBLIC
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_include_directories(chasquid_boost_asio SYSTEM PUBLIC ${Boost_INCLUDE_DIRS})
target_link_libraries(chasquid_boost_asio PUBLIC OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

# libFuzzer targets (clang only): configured with -DCHASQUID_FUZZ=ON and
# CXX=clang++, built by the `fuzzers` target, run by scripts/fuzz.sh.
#   chasquid_fuzzer(<name> SOURCES x_fuzz.cc DEPS chasquid_<dir>)
# builds <build>/fuzz/<name>; its seed corpus and kept crash inputs live in
# src/<dir>/testdata/fuzz/<name>/.
option(CHASQUID_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(CHASQUID_FUZZ)
  add_compile_options(-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address)
  add_custom_target(fuzzers)
endif()

function(chasquid_fuzzer name)
  if(NOT CHASQUID_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} EXCLUDE_FROM_ALL ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  chasquid_inside(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${CMAKE_BINARY_DIR}/fuzz)
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  file(APPEND ${CMAKE_BINARY_DIR}/fuzz-corpora.txt
       "${name} ${CMAKE_SOURCE_DIR}/${rel}/testdata/fuzz/${name}\n")
  add_dependencies(fuzzers ${name})
endfunction()

# Warnings as errors only where developers and CI ask for them
# (scripts/build.sh turns this on): a user's or a packager's build, with
# its own compiler and flags, must never fail on a new warning.
option(CHASQUID_WERROR "Treat compiler warnings as errors" OFF)

function(chasquid_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra
                         $<$<BOOL:${CHASQUID_WERROR}>:-Werror>
                         -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()

# A folder's private headers (PRIVATE_HEADERS of its chasquid_library)
# compile only inside that folder: they start with
#   #ifndef CHASQUID_INSIDE_<FOLDER>  #error ...  #endif
# and only the folder's own library, tests and fuzzers define it. Another
# folder that includes one fails to build, with the header's message.
function(chasquid_inside target)
  get_property(private DIRECTORY PROPERTY CHASQUID_PRIVATE_HEADERS)
  if(private)
    get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} NAME)
    string(TOUPPER "${folder}" folder)
    target_compile_definitions(${target} PRIVATE CHASQUID_INSIDE_${folder})
  endif()
endfunction()

function(chasquid_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PROTOS;PRIVATE_HEADERS" ${ARGN})
  if(A_PRIVATE_HEADERS)
    set_property(DIRECTORY PROPERTY CHASQUID_PRIVATE_HEADERS
                 ${A_PRIVATE_HEADERS})
  endif()
  set(target chasquid_${name})
  set(gen_srcs)
  if(A_PROTOS)
    protobuf_generate_cpp(psrcs phdrs ${A_PROTOS})
    set(gen_srcs ${psrcs} ${phdrs})
  endif()
  add_library(${target} STATIC ${A_SOURCES} ${gen_srcs})
  if(A_PROTOS)
    # Generated code is not ours: no -Werror on it.
    set_source_files_properties(${psrcs} PROPERTIES COMPILE_OPTIONS "-Wno-error")
    target_include_directories(${target} PUBLIC ${CMAKE_BINARY_DIR}/src)
    target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  endif()
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${A_DEPS})
  chasquid_warnings(${target})
  chasquid_inside(${target})
endfunction()

function(chasquid_test name)
  if(CHASQUID_FUZZ OR NOT BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  set(target chasquid_${name}_test)
  add_executable(${target} ${A_SOURCES})
  target_link_libraries(${target} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main
                        GTest::gmock)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  chasquid_warnings(${target})
  chasquid_inside(${target})
  gtest_discover_tests(${target}
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "TESTDATA=${CMAKE_CURRENT_SOURCE_DIR}/testdata")
endfunction()
