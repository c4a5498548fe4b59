# Compiler settings shared by every faultgraph target: warnings, ccache, sanitizers.
if(FG_USE_CCACHE)
  find_program(FG_CCACHE ccache)
  if(FG_CCACHE)
    # Precompiled headers change mtime on every rebuild; ccache caches a file compiled with
    # one only when told to trust its content. The setting goes with every compile (an
    # ENV{} set here would reach only the configure step: ccache then cached nothing).
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        ${FG_CCACHE})
  endif()
endif()

add_library(fg_warnings INTERFACE)
# GCC 12 reports false maybe-uninitialized warnings on std::optional<at::Tensor>.
target_compile_options(fg_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter -Wno-maybe-uninitialized)

if(FG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(FG_FUZZ)
  # libFuzzer's runtime from Debian's libfuzzer-14-dev, driven by comparison tracing: clang
  # cannot compile ATen 1.13's headers as C++20 (an incomplete c10::IValue in a constexpr
  # std::vector), so the targets are built with GCC, whose -fsanitize-coverage offers
  # trace-cmp (libFuzzer's value profile) but not the edge counters clang would add.
  file(GLOB FG_LIBFUZZER /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
  if(NOT FG_LIBFUZZER)
    message(FATAL_ERROR "FG_FUZZ: libFuzzer not found (apt-get install libfuzzer-14-dev)")
  endif()
  list(GET FG_LIBFUZZER 0 FG_LIBFUZZER)
  add_compile_options(-fsanitize-coverage=trace-cmp)
  # GCC also traces float compares, which neither libFuzzer nor the sanitizer runtime
  # defines: every library brings the hooks (no-ops), so that tests and the CLI link in a
  # build that also holds the fuzz targets (the asan preset).
  add_library(fg_float_compares STATIC ${PROJECT_SOURCE_DIR}/fuzz/float_compares.cpp)
endif()

# fg_add_library(name SOURCES ... DEPS ...): one static library per layer.
function(fg_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                     PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE fg_warnings ${ARG_PRIVATE_DEPS})
  if(FG_FUZZ)
    target_link_libraries(${name} PUBLIC fg_float_compares)
  endif()
  if(FG_USE_PCH)
    target_precompile_headers(${name} REUSE_FROM fg_pch)
  endif()
endfunction()
