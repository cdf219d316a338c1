# Cross-compiling strata for 64-bit ARM Linux (AWS Graviton, Ampere Altra, NVIDIA Grace and
# DGX Spark's GB10) on a Debian x86-64 machine: Debian's g++-aarch64-linux-gnu, and the
# arm64 -dev packages installed through multiarch (dpkg --add-architecture arm64), whose
# libraries sit in /usr/lib/aarch64-linux-gnu beside the build machine's. Tests run under
# qemu-user. scripts/cross-aarch64 installs all of it and builds and tests with this file.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Headers are shared between the architectures (/usr/include); libraries are searched in
# the arm64 multiarch folder only, so that an x86-64 library is never picked.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# ctest (and Catch2's test discovery) run the test programs through qemu. The CPU model comes
# from the QEMU_CPU environment variable (scripts/cross-aarch64 sets max with a chosen SVE
# vector length: every extension qemu emulates, SVE and SVE2 among them).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)
