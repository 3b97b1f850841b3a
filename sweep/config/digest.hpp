#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace icl {

// A 64-bit checksum of bytes (FNV-1a with a final avalanche mix): detects torn or damaged
// journal records and changed input files. Not a cryptographic hash: it guards against
// accidents, not adversaries.
std::uint64_t checksum(const std::byte* data, std::size_t size);
std::uint64_t checksum(std::string_view text);

// "fnv1a64:0123456789abcdef, 123 bytes": how stored digests of files are written.
std::string file_digest(std::string_view contents);

}  // namespace icl
