# What the libtorch found by find_package(Torch) is: ICL_TORCH_CUDA (whether it runs on CUDA
# devices) and ICL_TORCH_BUILD ("libtorch 1.13.0, cpu"), which enters the program's identity: a
# sweep resumed with another libtorch would mix two builds' numbers.
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  set(ICL_TORCH_CUDA ON)
  set(ICL_TORCH_BUILD "libtorch ${Torch_VERSION}, cuda")
else()
  set(ICL_TORCH_CUDA OFF)
  set(ICL_TORCH_BUILD "libtorch ${Torch_VERSION}, cpu")
endif()
# libtorch's C++ ABI (PyTorch's wheels before 2.7 use the old one, Debian's and libtorch's
# "cxx11 ABI" archives the new one) must be the whole build's: the program's Boost and the core's
# std::string cross into the models' library. The models and their tests alone (ICL_BUILD_PROGRAM=OFF,
# GoogleTest from source) can follow libtorch's.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  if(ICL_BUILD_PROGRAM)
    message(FATAL_ERROR "${ICL_TORCH_BUILD} at ${Torch_DIR} is built with the old C++ ABI "
      "(_GLIBCXX_USE_CXX11_ABI=0), which Debian's MPI, HDF5 and Boost libraries cannot link with: use a "
      "libtorch built with the C++11 ABI (PyTorch 2.7 or later, or the cxx11-abi libtorch archive), or "
      "-DICL_BUILD_PROGRAM=OFF -DICL_GTEST_SOURCE=/usr/src/googletest for the models' tests alone")
  endif()
  if(BUILD_TESTING AND NOT ICL_GTEST_SOURCE)
    message(FATAL_ERROR "${ICL_TORCH_BUILD} uses the old C++ ABI: build GoogleTest with it "
      "(-DICL_GTEST_SOURCE=/usr/src/googletest)")
  endif()
  add_compile_definitions(_GLIBCXX_USE_CXX11_ABI=0)
endif()
message(STATUS "icl-sweep: ${ICL_TORCH_BUILD} (${Torch_DIR})")
