#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

namespace icl {

// A self-checking record on disk: magic, u64 length, payload, u64 checksum (digest.hpp). The
// journal and the training checkpoints are made of them; a torn or damaged one reads as absent.
std::vector<std::byte> frame(std::string_view magic, const std::byte* payload, std::size_t size);
// Reads the record at `offset` of `file` into `payload` and moves `offset` past it; false if it
// is torn, damaged or not of this magic.
bool unframe(const std::vector<std::byte>& file, std::size_t& offset, std::string_view magic,
             std::vector<std::byte>& payload);

}  // namespace icl
