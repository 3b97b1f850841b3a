#include "store/run_checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "config/digest.hpp"
#include "store/file_sync.hpp"
#include "store/framing.hpp"

namespace icl {
namespace {

constexpr std::string_view kMagic = "ICLCKPT1";

std::uint64_t identity_digest(const SweepIdentity& identity) {
  const std::string text = identity.text();
  return checksum(reinterpret_cast<const std::byte*>(text.data()), text.size());
}

}  // namespace

RunCheckpoints::RunCheckpoints(const std::string& output, const SweepIdentity& identity)
    : directory_(directory(output)), identity_(identity_digest(identity)) {}

std::string RunCheckpoints::path(std::uint64_t train_id) const {
  return directory_ + "/run-" + std::to_string(train_id);
}

std::string RunCheckpoints::load(std::uint64_t train_id) const {
  std::ifstream in(path(train_id), std::ios::binary);
  if (!in) return {};
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::byte> file(text.size());
  std::memcpy(file.data(), text.data(), text.size());
  std::size_t offset = 0;
  std::vector<std::byte> payload;
  std::uint64_t head[2] = {0, 0};
  if (!unframe(file, offset, kMagic, payload) || payload.size() < sizeof head) {
    std::fprintf(stderr, "icl-sweep: %s is damaged; training run %llu starts again\n", path(train_id).c_str(),
                 static_cast<unsigned long long>(train_id));
    return {};
  }
  std::memcpy(head, payload.data(), sizeof head);
  if (head[0] != identity_ || head[1] != train_id) {
    std::fprintf(stderr, "icl-sweep: %s belongs to another sweep; training run %llu starts again\n",
                 path(train_id).c_str(), static_cast<unsigned long long>(train_id));
    return {};
  }
  return std::string(reinterpret_cast<const char*>(payload.data()) + sizeof head, payload.size() - sizeof head);
}

void RunCheckpoints::save(std::uint64_t train_id, const std::string& state) const {
  std::filesystem::create_directories(directory_);
  std::vector<std::byte> payload(16 + state.size());
  const std::uint64_t head[2] = {identity_, train_id};
  std::memcpy(payload.data(), head, sizeof head);
  std::memcpy(payload.data() + sizeof head, state.data(), state.size());
  const std::vector<std::byte> block = frame(kMagic, payload.data(), payload.size());
  const std::string final_path = path(train_id);
  const std::string temporary = final_path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("Failed to write the checkpoint \"" + temporary + "\": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < block.size()) {
    const ssize_t n = ::write(fd, block.data() + written, block.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      throw std::runtime_error("Failed to write the checkpoint \"" + temporary + "\": " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), final_path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw std::runtime_error("Failed to store the checkpoint \"" + final_path + "\": " + std::strerror(errno));
  }
  sync_directory_of(final_path);
}

void RunCheckpoints::remove(std::uint64_t train_id) const {
  std::error_code ec;
  std::filesystem::remove(path(train_id), ec);
}

void RunCheckpoints::remove_all() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory_, ec)) return;
  // Only what this program writes there: run-N and its temporaries; the directory if then empty.
  for (const auto& entry : fs::directory_iterator(directory_, ec))
    if (entry.path().filename().string().rfind("run-", 0) == 0) fs::remove(entry.path(), ec);
  fs::remove(directory_, ec);  // fails, harmlessly, if anything else is inside
}

}  // namespace icl
