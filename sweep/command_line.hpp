#pragma once
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/sweep_config.hpp"

namespace icl {

// The program's exit statuses (docs/interface.md, "Exit codes").
constexpr int kExitOk = 0, kExitFailure = 1, kExitBadInput = 2, kExitStopped = 3;

// What the command line asks (docs/interface.md, "Command line").
struct CommandLine {
  std::string config;
  std::string output;
  bool force = false;
  bool resume = false;
  bool resume_or_start = false;
  std::string extend;  // --extend OLD.h5
  std::vector<std::string> merge;  // --merge IN.h5 ...
  bool fill = false;               // --fill: a merge whose inputs leave holes keeps them for --resume
  std::string status, snapshot;    // --status OUTPUT [--export SNAPSHOT]
  bool dry_run = false;
  double progress = 10.0;
  double stop_grace = 30.0;
  std::string stop_after, stop_at;  // as given
  std::optional<std::chrono::steady_clock::time_point> deadline;  // from either, fixed at the start
  Overrides overrides;
};

// A command line that cannot be run: exit 2 with this message.
struct CommandLineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses argv (Boost.Program_options; every config key is also an option). `info` receives the
// text of --help, --version and the tables, which the program prints and exits on. Throws
// CommandLineError.
CommandLine parse_command_line(int argc, char** argv, std::optional<std::string>& info);

}  // namespace icl
