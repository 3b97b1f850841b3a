#pragma once
#include <stdexcept>
#include <string>

namespace icl {

// Thrown for anything a user wrote that cannot be used (a spectrum, a shift, a covariance
// file). The sweep adds the config file, section and key around the message.
struct InputError : std::invalid_argument {
  explicit InputError(const std::string& what) : std::invalid_argument(what) {}
};

}  // namespace icl
