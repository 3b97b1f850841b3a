#pragma once
#include <string>

namespace icl {

// Durability on POSIX file systems: data reaches the disk with fsync of the file, and a new or
// renamed name only with fsync of its directory. Both throw std::runtime_error naming the path.
void sync_file(const std::string& path);
void sync_directory_of(const std::string& path);

}  // namespace icl
