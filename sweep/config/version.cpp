#include "config/version.hpp"

#include "build_identity.hpp"  // generated at build time: ICL_GIT_COMMIT, ICL_SOURCE_DIGEST

namespace icl {

std::string tool_version() { return ICL_VERSION; }
std::string git_commit() { return ICL_GIT_COMMIT; }
std::string program_identity() {
  const std::string arch = ICL_ARCH;  // -march of the build (ICL_ARCH), empty for the portable baseline
  // The libtorch the sampled models are built with (cmake/torch_build.cmake): its version, cpu or cuda.
  return "icl-sweep " + tool_version() + " (" + git_commit() + ", sources " + ICL_SOURCE_DIGEST +
         (arch.empty() ? "" : ", -march=" + arch) + ", " + ICL_TORCH_BUILD + ")";
}

}  // namespace icl
