#include "config/result_row.hpp"

#include <cstring>
#include <limits>

#include "training_status.hpp"

namespace icl {

std::string type_name(const Column& column) {
  switch (column.type) {
    case ColumnType::u8: return "u8";
    case ColumnType::i32: return "i32";
    case ColumnType::i64: return "i64";
    case ColumnType::u64: return "u64";
    case ColumnType::f64: return "f64";
    case ColumnType::text: return "enum (text of at most " + std::to_string(column.size - 1) + " characters)";
  }
  return "?";
}

ResultRow blank_row() {
  ResultRow row;
  std::memset(&row, 0, sizeof row);  // padding too: rows travel and are checksummed as bytes
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto* bytes = reinterpret_cast<unsigned char*>(&row);
  for (const Column& c : kColumns)
    if (c.type == ColumnType::f64) std::memcpy(bytes + c.offset, &nan, sizeof nan);
  set_text(row.status, to_string(TrainingStatus::failed));
  return row;
}

std::string schema_changes_since(int version) {
  std::string out;
  for (const SchemaChange& c : kSchemaChanges)
    if (c.version > version) out += (out.empty() ? "" : "; ") + std::to_string(c.version) + ": " + std::string(c.change);
  return out.empty() ? out : "since version " + std::to_string(version) + ", " + out;
}

std::string schema_signature() {
  std::string s = "schema " + std::to_string(kSchemaVersion) + "\n";
  for (const Column& c : kColumns) s += std::string(c.name) + " " + type_name(c) + "\n";
  return s;
}

}  // namespace icl
