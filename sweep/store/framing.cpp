#include "store/framing.hpp"

#include <cstdint>
#include <cstring>

#include "config/digest.hpp"

namespace icl {

std::vector<std::byte> frame(std::string_view magic, const std::byte* payload, std::size_t size) {
  std::vector<std::byte> block(magic.size() + 16 + size);
  const std::uint64_t length = size;
  const std::uint64_t sum = checksum(payload, size);
  std::memcpy(block.data(), magic.data(), magic.size());
  std::memcpy(block.data() + magic.size(), &length, 8);
  if (size > 0) std::memcpy(block.data() + magic.size() + 8, payload, size);
  std::memcpy(block.data() + magic.size() + 8 + size, &sum, 8);
  return block;
}

bool unframe(const std::vector<std::byte>& file, std::size_t& offset, std::string_view magic,
             std::vector<std::byte>& payload) {
  if (offset > file.size() || file.size() - offset < magic.size() + 16) return false;
  if (std::memcmp(file.data() + offset, magic.data(), magic.size()) != 0) return false;
  std::uint64_t length = 0;
  std::memcpy(&length, file.data() + offset + magic.size(), 8);
  if (length > file.size() - offset - magic.size() - 16) return false;
  const std::byte* data = file.data() + offset + magic.size() + 8;
  std::uint64_t sum = 0;
  std::memcpy(&sum, data + length, 8);
  if (sum != checksum(data, length)) return false;
  payload.assign(data, data + length);
  offset += magic.size() + 16 + length;
  return true;
}

}  // namespace icl
