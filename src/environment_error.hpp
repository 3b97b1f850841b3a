#pragma once
#include <stdexcept>
#include <string>

namespace icl {

// Thrown for a failure of the machine a run is on, not of the run: a library that cannot be
// loaded on this node, a file that cannot be written. It is never a row's result (a run that
// meets it is not recorded, and is computed again on resume), unlike an error of the run itself,
// which is the row's status `failed`.
struct EnvironmentError : std::runtime_error {
  explicit EnvironmentError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace icl
