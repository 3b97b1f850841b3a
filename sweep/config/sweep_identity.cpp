#include "config/sweep_identity.hpp"

#include <sstream>

#include "call_syntax.hpp"
#include "config/digest.hpp"
#include "config/result_row.hpp"
#include "config/version.hpp"

namespace icl {
namespace {

constexpr const char* kSection = "\n[identity]\n";

// The [identity] section as "key = value" lines, inputs as "input PATH = digest".
std::string identity_section(const SweepIdentity& id) {
  std::string s = "program = " + id.program + "\nschema = " + std::to_string(id.schema) + "\n";
  std::istringstream lines(id.inputs);
  for (std::string line; std::getline(lines, line);)
    if (!trim(line).empty()) s += "input " + line + "\n";
  return s;
}

}  // namespace

std::string SweepIdentity::text() const { return config + kSection + identity_section(*this); }

SweepIdentity SweepIdentity::parse(const std::string& text) {
  SweepIdentity id;
  const auto at = text.find(kSection);
  id.config = text.substr(0, at);
  if (at == std::string::npos) return id;  // not an identity: schema 0 refuses it
  std::istringstream lines(text.substr(at + std::string(kSection).size()));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    if (key == "program") id.program = value;
    else if (key == "schema") id.schema = std::atoi(value.c_str());
    else if (key.rfind("input ", 0) == 0) id.inputs += key.substr(6) + " = " + value + "\n";
  }
  return id;
}

SweepIdentity identity_of(const SweepConfig& config) {
  SweepIdentity id;
  id.config = config.to_ini();
  for (const auto& [path, contents] : config.inputs) id.inputs += path + " = " + file_digest(contents) + "\n";
  id.program = program_identity();
  id.schema = kSchemaVersion;
  return id;
}

std::vector<std::string> identity_differences(const SweepIdentity& stored, const SweepIdentity& requested) {
  // Both texts compare key by key, the [identity] section like the config's own sections.
  std::vector<std::string> differences = config_differences(stored.text(), requested.text());
  for (auto& d : differences)
    if (d.rfind("identity.", 0) == 0) d.erase(0, 9);
  return differences;
}

}  // namespace icl
