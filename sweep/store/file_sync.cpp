#include "store/file_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace icl {
namespace {

void sync_path(const std::string& path, int flags, const std::string& what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("Failed to sync " + what + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("Failed to sync " + what + ": " + std::strerror(error));
}

}  // namespace

void sync_file(const std::string& path) { sync_path(path, O_RDONLY, "\"" + path + "\""); }

void sync_directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  sync_path(dir, O_RDONLY | O_DIRECTORY, "the directory of \"" + path + "\"");
}

}  // namespace icl
