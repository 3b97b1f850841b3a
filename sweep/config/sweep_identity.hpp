#pragma once
#include <string>
#include <vector>

#include "config/sweep_config.hpp"

namespace icl {

// Everything a sweep's rows are a function of: the effective config, the contents of every file
// it reads, the program that computes them and the layout they are stored in. The journal's
// header and the results file both record it; --resume refuses when any part differs.
struct SweepIdentity {
  std::string config;   // to_ini()
  std::string inputs;   // "PATH = digest" per line, one per file the config reads ("" if none)
  std::string program;  // program_identity()
  int schema = 0;       // kSchemaVersion

  // INI text: the config, then an [identity] section. Stored in the journal's header.
  std::string text() const;
  static SweepIdentity parse(const std::string& text);
};

SweepIdentity identity_of(const SweepConfig& config);

// What differs, one line per key, e.g. "grid.d: stored '5', requested '10'" or
// "input cov.txt: stored 'fnv1a64:..', requested 'fnv1a64:..'". Empty when they agree.
std::vector<std::string> identity_differences(const SweepIdentity& stored, const SweepIdentity& requested);

}  // namespace icl
