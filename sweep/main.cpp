// icl-sweep: one program for 1..K MPI ranks (docs/interface.md, "Command line"). This file
// chooses the command; command_line.cpp reads the command line, sweep_command.cpp runs a sweep,
// merge_command.cpp merges files, store/status.cpp reports on one.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "command_line.hpp"
#include "schedule/mpi_session.hpp"
#include "schedule/stop_signals.hpp"
#include "store/status.hpp"
#include "sweep_command.hpp"

using namespace icl;

int main(int argc, char** argv) {
  // First of all: a stop that arrives while MPI starts or the config is read must not kill
  // the process (the default action); it stops the sweep at its first chance instead.
  install_stop_handlers();
  ignore_file_size_signal();
  MpiSession mpi(argc, argv);
  const bool root = mpi.rank() == 0;
  try {
    std::optional<std::string> info;
    CommandLine cl;
    try {
      cl = parse_command_line(argc, argv, info);
    } catch (const CommandLineError& e) {
      if (root) std::fprintf(stderr, "icl-sweep: command line: %s\n", e.what());
      return kExitBadInput;
    }
    if (info) {
      if (root) std::fputs(info->c_str(), stdout);
      return kExitOk;
    }
    if (!cl.status.empty()) return agree(root ? print_status(cl.status, cl.snapshot) : 0);
    if (!cl.merge.empty()) return agree(root ? merge_command(cl) : 0);
    return sweep_command(cl, mpi);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "icl-sweep: rank %d: %s\n", mpi.rank(), e.what());
    end_job(kExitFailure);
  }
}
