# Every dependency comes from a Debian package listed in scripts/debian-packages.txt.
find_package(Threads REQUIRED)
# libgomp, which ATen already uses: the campaign runner sets per-thread team sizes. Linked
# as a library, not with -fopenmp: nothing uses OpenMP pragmas, and -fopenmp defines
# _OPENMP, which made GCC refuse the shared precompiled header (ATen.h parsed again).
find_package(OpenMP REQUIRED)
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(nlohmann_json REQUIRED CONFIG)
find_package(CLI11 CONFIG QUIET)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(ZLIB REQUIRED)

# ATen from Debian's libtorch-dev. TorchConfig.cmake drags in far more than we need, so
# the two libraries are imported directly.
find_library(FG_TORCH_CPU torch_cpu REQUIRED)
find_library(FG_C10 c10 REQUIRED)
find_path(FG_ATEN_INCLUDE ATen/ATen.h REQUIRED)
add_library(fg_aten INTERFACE)
target_include_directories(fg_aten SYSTEM INTERFACE ${FG_ATEN_INCLUDE}
                           ${FG_ATEN_INCLUDE}/torch/csrc/api/include)
target_link_libraries(fg_aten INTERFACE ${FG_TORCH_CPU} ${FG_C10} Threads::Threads)

# oneDNN, the one ATen links (Debian's libdnnl-dev, 2.6): convolutions are called through it
# directly (src/ops/dnnl_conv.cpp), the same primitives ATen would pick, without its per-call
# overhead.
find_path(FG_DNNL_INCLUDE oneapi/dnnl/dnnl.hpp REQUIRED)
find_library(FG_DNNL dnnl REQUIRED)
add_library(fg_dnnl INTERFACE)
target_include_directories(fg_dnnl SYSTEM INTERFACE ${FG_DNNL_INCLUDE})
target_link_libraries(fg_dnnl INTERFACE ${FG_DNNL})

# One precompiled header for every library that includes ATen (ATen.h costs ~6 s a file).
add_library(fg_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
target_link_libraries(fg_pch PUBLIC fg_aten fmt::fmt)
if(FG_USE_PCH)
  target_precompile_headers(fg_pch PUBLIC
    <ATen/ATen.h> <fmt/format.h> <string> <vector> <unordered_map> <memory> <optional>
    <variant> <functional> <algorithm> <stdexcept>)
endif()

# OpenCV's core, imgproc and imgcodecs (Debian's libopencv-imgcodecs-dev and
# libopencv-imgproc-dev; the full libopencv-dev, which ships the CMake config, pulls in
# ~60 packages more): image decoding and resizing for the datasets, PNG heatmaps.
find_path(FG_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(fg_opencv INTERFACE)
target_include_directories(fg_opencv SYSTEM INTERFACE ${FG_OPENCV_INCLUDE})
foreach(module core imgproc imgcodecs)
  find_library(FG_OPENCV_${module} opencv_${module} REQUIRED)
  target_link_libraries(fg_opencv INTERFACE ${FG_OPENCV_${module}})
endforeach()

# Graphviz's layout and rendering library (Debian's libgraphviz-dev): model pictures are
# rendered in-process, never through a shell.
find_path(FG_GRAPHVIZ_INCLUDE graphviz/gvc.h REQUIRED)
find_library(FG_GVC gvc REQUIRED)
find_library(FG_CGRAPH cgraph REQUIRED)
add_library(fg_graphviz INTERFACE)
target_include_directories(fg_graphviz SYSTEM INTERFACE ${FG_GRAPHVIZ_INCLUDE})
target_link_libraries(fg_graphviz INTERFACE ${FG_GVC} ${FG_CGRAPH})

# PLplot (Debian's libplplot-dev, with plplot-driver-cairo for PNG and SVG): charts.
find_path(FG_PLPLOT_INCLUDE plplot.h PATH_SUFFIXES plplot REQUIRED)
find_library(FG_PLPLOT plplot REQUIRED)
add_library(fg_plplot INTERFACE)
target_include_directories(fg_plplot SYSTEM INTERFACE ${FG_PLPLOT_INCLUDE})
target_link_libraries(fg_plplot INTERFACE ${FG_PLPLOT})

# SQLite (Debian's libsqlite3-dev): the campaign results store.
find_package(SQLite3 REQUIRED)

# OpenMPI (Debian's libopenmpi-dev, openmpi-bin): campaigns across ranks and machines
# (campaign/mpi.h). Optional: without it faultgraph builds and runs the same, on one machine.
option(FG_MPI "build with MPI when it is found" ON)
set(FG_HAVE_MPI OFF)
if(FG_MPI)
  set(MPI_CXX_SKIP_MPICXX ON)  # the C API only; no deprecated C++ bindings
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(FG_HAVE_MPI ON)
  endif()
endif()
message(STATUS "faultgraph: MPI ${FG_HAVE_MPI}")

# tcmalloc (Debian's libtcmalloc-minimal4): the CLI's and the benchmarks' malloc. A
# campaign allocates and frees the same activation-sized buffers trial after trial; glibc
# spent 12% of a MobileNetV2 campaign in malloc and free (bins, consolidation), and with
# tcmalloc the campaign ran 12-15% faster (ResNet-50 5-9%). Not under the sanitizers,
# which bring their own allocator; without the library faultgraph builds the same, on
# glibc's malloc (tuned in exec/runtime.cpp).
option(FG_TCMALLOC "link the CLI and the benchmarks with tcmalloc when it is found" ON)
set(FG_HAVE_TCMALLOC OFF)
if(FG_TCMALLOC AND NOT FG_SANITIZE)
  find_library(FG_TCMALLOC_LIB NAMES tcmalloc_minimal libtcmalloc_minimal.so.4)
  if(FG_TCMALLOC_LIB)
    set(FG_HAVE_TCMALLOC ON)
  endif()
endif()
message(STATUS "faultgraph: tcmalloc ${FG_HAVE_TCMALLOC}")
# Links `target` with tcmalloc when it is there. No symbol of it is named, so the link must
# keep it (--no-as-needed): its malloc then comes before glibc's for the whole process.
function(fg_use_tcmalloc target)
  if(FG_HAVE_TCMALLOC)
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" ${FG_TCMALLOC_LIB}
                                            "-Wl,--pop-state")
  endif()
endfunction()
