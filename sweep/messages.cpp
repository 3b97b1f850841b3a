#include "messages.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace icl::messages {

std::vector<std::byte> pack(const TaskResult& result) {
  const std::uint64_t header[3] = {result.train_id, result.rows.size(), result.trajectory.size()};
  const std::size_t rows_bytes = result.rows.size() * sizeof(ResultRow);
  const std::size_t samples_bytes = result.trajectory.size() * sizeof(StoredSample);
  std::vector<std::byte> bytes(sizeof header + rows_bytes + samples_bytes);
  std::memcpy(bytes.data(), header, sizeof header);
  std::memcpy(bytes.data() + sizeof header, result.rows.data(), rows_bytes);
  std::memcpy(bytes.data() + sizeof header + rows_bytes, result.trajectory.data(), samples_bytes);
  return bytes;
}

TaskResult unpack(const std::vector<std::byte>& bytes) {
  std::uint64_t header[3];
  if (bytes.size() < sizeof header) throw std::runtime_error("truncated result message");
  std::memcpy(header, bytes.data(), sizeof header);
  // Bounded before multiplying, so that a damaged count cannot wrap around.
  const std::size_t body = bytes.size() - sizeof header;
  if (header[1] > body / sizeof(ResultRow) || header[2] > body / sizeof(StoredSample))
    throw std::runtime_error("result message of the wrong size");
  const std::size_t rows_bytes = header[1] * sizeof(ResultRow);
  const std::size_t samples_bytes = header[2] * sizeof(StoredSample);
  if (bytes.size() != sizeof header + rows_bytes + samples_bytes)
    throw std::runtime_error("result message of the wrong size");
  TaskResult result;
  result.train_id = header[0];
  result.rows.resize(header[1]);
  result.trajectory.resize(header[2]);
  std::memcpy(result.rows.data(), bytes.data() + sizeof header, rows_bytes);
  std::memcpy(result.trajectory.data(), bytes.data() + sizeof header + rows_bytes, samples_bytes);
  return result;
}

}  // namespace icl::messages
