#include "task/task_result.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace icl {

std::vector<std::byte> pack(const TaskResult& result) {
  const std::uint64_t header[5] = {result.train_id, result.rows.size(), result.trajectory.size(),
                                   result.parameters.size(), result.model_state.size()};
  const std::size_t rows_bytes = result.rows.size() * sizeof(ResultRow);
  const std::size_t samples_bytes = result.trajectory.size() * sizeof(StoredSample);
  const std::size_t parameter_bytes = result.parameters.size() * sizeof(double);
  std::vector<std::byte> bytes(sizeof header + rows_bytes + samples_bytes + parameter_bytes + result.model_state.size());
  std::byte* at = bytes.data();
  std::memcpy(at, header, sizeof header);
  std::memcpy(at += sizeof header, result.rows.data(), rows_bytes);
  std::memcpy(at += rows_bytes, result.trajectory.data(), samples_bytes);
  if (parameter_bytes > 0) std::memcpy(at += samples_bytes, result.parameters.data(), parameter_bytes);
  else at += samples_bytes;
  if (!result.model_state.empty()) std::memcpy(at + parameter_bytes, result.model_state.data(), result.model_state.size());
  return bytes;
}

TaskResult unpack(const std::vector<std::byte>& bytes) {
  std::uint64_t header[5];
  if (bytes.size() < sizeof header) throw std::runtime_error("truncated result message");
  std::memcpy(header, bytes.data(), sizeof header);
  // Bounded before multiplying, so that a damaged count cannot wrap around.
  const std::size_t body = bytes.size() - sizeof header;
  if (header[1] > body / sizeof(ResultRow) || header[2] > body / sizeof(StoredSample) ||
      header[3] > body / sizeof(double) || header[4] > body)
    throw std::runtime_error("result message of the wrong size");
  const std::size_t rows_bytes = header[1] * sizeof(ResultRow);
  const std::size_t samples_bytes = header[2] * sizeof(StoredSample);
  const std::size_t parameter_bytes = header[3] * sizeof(double);
  if (bytes.size() != sizeof header + rows_bytes + samples_bytes + parameter_bytes + header[4])
    throw std::runtime_error("result message of the wrong size");
  TaskResult result;
  result.train_id = header[0];
  result.rows.resize(header[1]);
  result.trajectory.resize(header[2]);
  result.parameters.resize(header[3]);
  const std::byte* at = bytes.data() + sizeof header;
  std::memcpy(result.rows.data(), at, rows_bytes);
  std::memcpy(result.trajectory.data(), at += rows_bytes, samples_bytes);
  at += samples_bytes;
  if (parameter_bytes > 0) std::memcpy(result.parameters.data(), at, parameter_bytes);
  result.model_state.assign(reinterpret_cast<const char*>(at + parameter_bytes), header[4]);
  return result;
}

std::vector<std::byte> pack_batch(const std::vector<TaskResult>& results) {
  std::vector<std::byte> bytes(sizeof(std::uint64_t));
  const std::uint64_t count = results.size();
  std::memcpy(bytes.data(), &count, sizeof count);
  for (const TaskResult& result : results) {
    const std::vector<std::byte> one = pack(result);
    const std::uint64_t size = one.size();
    const std::size_t at = bytes.size();
    bytes.resize(at + sizeof size + one.size());
    std::memcpy(bytes.data() + at, &size, sizeof size);
    std::memcpy(bytes.data() + at + sizeof size, one.data(), one.size());
  }
  return bytes;
}

void unpack_batch(const std::vector<std::byte>& bytes, std::vector<TaskResult>& results) {
  results.clear();
  std::uint64_t count = 0;
  if (bytes.size() < sizeof count) throw std::runtime_error("truncated result batch");
  std::memcpy(&count, bytes.data(), sizeof count);
  std::size_t at = sizeof count;
  std::vector<std::byte> one;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t size = 0;
    if (bytes.size() - at < sizeof size) throw std::runtime_error("truncated result batch");
    std::memcpy(&size, bytes.data() + at, sizeof size);
    at += sizeof size;
    if (size > bytes.size() - at) throw std::runtime_error("truncated result batch");
    one.assign(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin() + static_cast<std::ptrdiff_t>(at + size));
    results.push_back(unpack(one));
    at += size;
  }
  if (at != bytes.size()) throw std::runtime_error("result batch of the wrong size");
}

}  // namespace icl
