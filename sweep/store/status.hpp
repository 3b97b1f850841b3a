#pragma once
#include <string>

namespace icl {

// `icl-sweep --status OUTPUT [--export SNAPSHOT.h5]` (docs/interface.md, "Status of a sweep"):
// what a sweep has done, read from its journal without locking or changing anything, so a
// running sweep is not disturbed; a complete one from its file. With `snapshot`, also writes the
// rows done so far as a readable results file there. Prints to stdout; returns the exit status
// (0, or 2 when there is nothing to report on or the snapshot cannot be written).
int print_status(const std::string& output, const std::string& snapshot);

}  // namespace icl
