#include "version.hpp"

namespace icl {

std::string tool_version() { return ICL_VERSION; }
std::string git_commit() { return ICL_GIT_COMMIT; }
std::string program_identity() { return "icl-sweep " + tool_version() + " (" + git_commit() + ")"; }

}  // namespace icl
