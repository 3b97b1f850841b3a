#include "config/digest.hpp"

#include <cstdio>

namespace icl {

std::uint64_t checksum(const std::byte* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= static_cast<std::uint8_t>(data[i]);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

std::uint64_t checksum(std::string_view text) {
  return checksum(reinterpret_cast<const std::byte*>(text.data()), text.size());
}

std::string file_digest(std::string_view contents) {
  char text[64];
  std::snprintf(text, sizeof text, "fnv1a64:%016llx, %zu bytes",
                static_cast<unsigned long long>(checksum(contents)),
                contents.size());
  return text;
}

}  // namespace icl
