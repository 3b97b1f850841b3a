#include "store/run_checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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
// Written into the directory when icl-sweep creates it: a directory without it is the user's, and
// is left in place when emptied of icl-sweep's files.
constexpr std::string_view kMarker = ".icl-sweep-checkpoints";

// The checksum of the identity's text, which is also the journal's header: what its records carry.
std::uint64_t identity_digest(const SweepIdentity& identity) { return checksum(identity.text()); }

}  // namespace

RunCheckpoints::RunCheckpoints(const std::string& output, const SweepIdentity& identity)
    : directory_(directory(output)), identity_(identity_digest(identity)) {}

std::string RunCheckpoints::path(std::uint64_t train_id) const {
  return directory_ + "/run-" + std::to_string(train_id);
}

std::string RunCheckpoints::load(std::uint64_t train_id) const {
  // A checkpoint that cannot be read is none: the run starts again (what is there stays).
  std::error_code ec;
  const auto type = std::filesystem::symlink_status(path(train_id), ec).type();
  if (type == std::filesystem::file_type::not_found) return {};
  std::string text;
  try {
    std::ifstream in(path(train_id), std::ios::binary);
    if (type == std::filesystem::file_type::regular && in)
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    text.clear();
  }
  std::vector<std::byte> file(text.size());
  std::memcpy(file.data(), text.data(), text.size());
  std::size_t offset = 0;
  std::vector<std::byte> payload;
  std::uint64_t head[2] = {0, 0};
  if (!unframe(file, offset, kMagic, payload) || payload.size() < sizeof head) {
    std::fprintf(stderr, "icl-sweep: %s is no checkpoint that can be read (damaged, or not icl-sweep's); training run %llu "
                 "starts again\n", path(train_id).c_str(),
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

void RunCheckpoints::save(std::uint64_t train_id, const std::string& state) const { write(train_id, state, true); }

void RunCheckpoints::save_copy(std::uint64_t train_id, const std::string& state) const {
  write(train_id, state, false);
}

void RunCheckpoints::write(std::uint64_t train_id, const std::string& state, bool durable) const {
  if (std::filesystem::create_directories(directory_))
    std::ofstream(directory_ + "/" + std::string(kMarker)) << "checkpoints of icl-sweep's training runs\n";
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
  const bool synced = !durable || ::fdatasync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (std::filesystem::symlink_status(final_path, ec).type() != std::filesystem::file_type::not_found &&
      !own_file(final_path)) {
    ::unlink(temporary.c_str());
    throw std::runtime_error("\"" + final_path + "\" is not a checkpoint icl-sweep wrote; it is not replaced");
  }
  if (!synced || ::rename(temporary.c_str(), final_path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw std::runtime_error("Failed to store the checkpoint \"" + final_path + "\": " + std::strerror(errno));
  }
  if (durable) sync_directory_of(final_path);
}

namespace {

// "run-N" (temporary = false) or "run-N.tmp-PID" (temporary = true), N and PID decimal; false else.
bool checkpoint_name(const std::string& name, bool& temporary) {
  const auto digits = [&](std::size_t from, std::size_t to) {
    return to > from && name.find_first_not_of("0123456789", from) >= to;
  };
  if (name.rfind("run-", 0) != 0) return false;
  const std::size_t tmp = name.find(".tmp-");
  temporary = tmp != std::string::npos;
  return temporary ? digits(4, tmp) && digits(tmp + 5, name.size()) : digits(4, name.size());
}

}  // namespace

bool RunCheckpoints::own_file(const std::string& path) {
  namespace fs = std::filesystem;
  bool temporary = false;
  std::error_code ec;
  const std::string name = fs::path(path).filename().string();
  if (name == kMarker) return fs::symlink_status(path, ec).type() == fs::file_type::regular;
  if (!checkpoint_name(name, temporary) || fs::symlink_status(path, ec).type() != fs::file_type::regular)
    return false;
  std::ifstream in(path, std::ios::binary);
  char head[kMagic.size()] = {};
  in.read(head, sizeof head);
  if (in.gcount() == 0 && temporary && fs::file_size(path, ec) == 0) return true;
  return in.gcount() == static_cast<std::streamsize>(sizeof head) && std::string_view(head, sizeof head) == kMagic;
}

std::vector<std::string> RunCheckpoints::strays(const std::string& output) {
  namespace fs = std::filesystem;
  const std::string where = directory(output);
  std::error_code ec;
  const fs::file_type type = fs::symlink_status(where, ec).type();
  if (type == fs::file_type::not_found) return {};
  if (type != fs::file_type::directory) return {where};
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(where, ec))
    if (!own_file(entry.path().string())) found.push_back(entry.path().string());
  if (ec) found.push_back(where);  // cannot be read: nothing in it is known to be ours
  std::sort(found.begin(), found.end());
  return found;
}

void RunCheckpoints::remove(std::uint64_t train_id) const {
  std::error_code ec;
  if (own_file(path(train_id))) std::filesystem::remove(path(train_id), ec);
}

void RunCheckpoints::remove_all() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::symlink_status(directory_, ec).type() != fs::file_type::directory) return;
  // Only what this program writes there (own_file); the directory if it made it and it is then empty.
  const std::string marker = directory_ + "/" + std::string(kMarker);
  std::vector<fs::path> own;
  bool others = false;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().string() == marker) continue;
    if (own_file(entry.path().string())) own.push_back(entry.path());
    else others = true;
  }
  for (const fs::path& file : own) fs::remove(file, ec);
  if (!others && own_file(marker)) {  // its own directory, now empty: it goes
    fs::remove(marker, ec);
    fs::remove(directory_, ec);
  }
}

}  // namespace icl
