# Cross toolchain for arm64 (the Jetson Orin's architecture) on a Debian
# x86-64 host: `make cross` (build-arm64/). Compiler from
# g++-aarch64-linux-gnu, libraries from the multiarch :arm64 -dev packages
# (dpkg --add-architecture arm64; scripts/install-deps does both), and
# qemu-user (qemu-user-static) to run the arm64 programs that CMake and ctest
# start: gtest_discover_tests lists the unit tests by running the binary, and
# ctest -L unit runs them.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(RTCELL_TRIPLET aarch64-linux-gnu)

find_program(RTCELL_CROSS_CXX ${RTCELL_TRIPLET}-g++)
find_program(RTCELL_CROSS_CC ${RTCELL_TRIPLET}-gcc)
if(NOT RTCELL_CROSS_CXX OR NOT RTCELL_CROSS_CC)
  message(FATAL_ERROR "no ${RTCELL_TRIPLET}-g++: install g++-aarch64-linux-gnu (scripts/install-deps does)")
endif()
set(CMAKE_C_COMPILER ${RTCELL_CROSS_CC})
set(CMAKE_CXX_COMPILER ${RTCELL_CROSS_CXX})
# GCC's aarch64 note that passing std::pair<double, double> changed ABI in
# GCC 10.1 concerns mixing objects built by GCC < 10 and >= 10; every object
# here is built by one compiler.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")

# Multiarch: the :arm64 packages put libraries and their CMake and pkg-config
# files under /usr/lib/aarch64-linux-gnu, and header-only packages (CLI11,
# nlohmann-json) under /usr/share and /usr/include. So the root is /usr
# itself; what keeps the host's x86-64 libraries out is the library
# architecture (CMake searches lib/<arch> for it) and pkg-config's LIBDIR.
#
# One exception: libyaml-cpp-dev is not Multi-Arch: same in Debian 12, so its
# :arm64 build cannot be installed beside the native one; scripts/cross-deps
# (run by make cross) unpacks it into build-cross-deps/ instead, and that
# tree comes first.
set(CMAKE_LIBRARY_ARCHITECTURE ${RTCELL_TRIPLET})
cmake_path(ABSOLUTE_PATH CMAKE_CURRENT_LIST_DIR NORMALIZE OUTPUT_VARIABLE RTCELL_SOURCE_ROOT)
cmake_path(GET RTCELL_SOURCE_ROOT PARENT_PATH RTCELL_SOURCE_ROOT)
set(RTCELL_CROSS_DEPS ${RTCELL_SOURCE_ROOT}/build-cross-deps)
set(RTCELL_CROSS_PKGCONFIG /usr/lib/${RTCELL_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
if(NOT EXISTS /usr/lib/${RTCELL_TRIPLET}/libyaml-cpp.a)
  if(NOT EXISTS ${RTCELL_CROSS_DEPS}/usr/lib/${RTCELL_TRIPLET}/pkgconfig/yaml-cpp.pc)
    message(FATAL_ERROR "no arm64 yaml-cpp: run scripts/cross-deps (make cross does)")
  endif()
  set(RTCELL_CROSS_PKGCONFIG ${RTCELL_CROSS_DEPS}/usr/lib/${RTCELL_TRIPLET}/pkgconfig:${RTCELL_CROSS_PKGCONFIG})
endif()
# A path under one of these roots is searched as it is (not re-rooted).
set(CMAKE_FIND_ROOT_PATH ${RTCELL_CROSS_DEPS} /usr/${RTCELL_TRIPLET} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} ${RTCELL_CROSS_PKGCONFIG})
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# qemu-user runs the arm64 programs; syscalls go to the host kernel. They
# load the multiarch glibc of libc6:arm64 (/lib/ld-linux-aarch64.so.1, a
# dependency of libc6-dev:arm64), not libc6-arm64-cross's under
# /usr/aarch64-linux-gnu: with `-L /usr/aarch64-linux-gnu` (2.36-8cross1)
# every fork()ed child spun forever in qemu 7.2 before its first syscall,
# which hung each unit test that forks.
find_program(RTCELL_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(NOT RTCELL_QEMU_AARCH64)
  message(FATAL_ERROR "no qemu-aarch64-static: install qemu-user-static (scripts/install-deps does)")
endif()
if(NOT EXISTS /lib/ld-linux-aarch64.so.1)
  message(FATAL_ERROR "no /lib/ld-linux-aarch64.so.1: install libc6:arm64 (scripts/install-deps does)")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${RTCELL_QEMU_AARCH64})
