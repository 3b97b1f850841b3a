#pragma once
#include <string>

namespace icl {

std::string tool_version();  // the project's version, e.g. "0.2.0"
std::string git_commit();    // the commit the build was configured at, or "unknown"
// "icl-sweep 0.2.0 (0123456789ab)": part of a sweep's identity, so that a resume by another
// build of the program is refused.
std::string program_identity();

}  // namespace icl
