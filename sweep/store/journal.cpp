#include "store/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "config/digest.hpp"
#include "store/framing.hpp"
#include "store/file_sync.hpp"
#include "task/task_result.hpp"

namespace icl {
namespace {

constexpr std::string_view kHeaderMagic = "ICLJRNL1";
constexpr std::string_view kRecordMagic = "RUN2";

[[noreturn]] void fail(const std::string& action, const std::string& path) {
  throw std::runtime_error("Failed to " + action + " the journal \"" + path + "\": " + std::strerror(errno));
}

void write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("Failed to append to the journal: ") + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// One framed block, written with a single write so that a torn block can only be the last one.
void write_block(int fd, std::string_view magic, const std::byte* payload, std::size_t size) {
  const std::vector<std::byte> block = frame(magic, payload, size);
  write_all(fd, block.data(), block.size());
}

// One writer per journal: a second icl-sweep on the same output (a job resubmitted while the
// first still runs) would interleave records. The lock goes with the process, even on kill -9.
void lock(int fd, const std::string& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw JournalLocked("another icl-sweep is writing \"" + path + "\"");
    fail("lock", path);
  }
  // The lock is on the inode: one that a finishing sweep has just unlinked is not the journal.
  struct stat held {}, named {};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &named) != 0 || held.st_ino != named.st_ino ||
      held.st_dev != named.st_dev)
    throw JournalLocked("\"" + path + "\" was replaced or removed by another icl-sweep");
}

}  // namespace

Journal Journal::create(const std::string& path, const std::string& config) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", path);
  Journal j(fd, checksum(config));
  lock(fd, path);
  if (::ftruncate(fd, 0) != 0) fail("truncate", path);
  write_block(fd, kHeaderMagic, reinterpret_cast<const std::byte*>(config.data()), config.size());
  j.sync();
  // The new file's directory entry must survive a node crash too, or a resume finds nothing.
  sync_directory_of(path);
  return j;
}

namespace {

// The whole file, read through `fd`.
std::vector<std::byte> read_file(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("read", path);
  std::vector<std::byte> file(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < file.size()) {
    const ssize_t n = ::pread(fd, file.data() + got, file.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("read", path);
    got += static_cast<std::size_t>(n);
  }
  return file;
}

// The offset of the first intact record at or after `from`, or file.size().
std::size_t next_record(const std::vector<std::byte>& file, std::size_t from) {
  std::vector<std::byte> payload;
  for (std::size_t at = from; at < file.size(); ++at) {
    const void* hit = ::memmem(file.data() + at, file.size() - at, kRecordMagic.data(), kRecordMagic.size());
    if (hit == nullptr) break;
    at = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - file.data());
    std::size_t probe = at;
    if (unframe(file, probe, kRecordMagic, payload)) return at;
  }
  return file.size();
}

// The sweep a record's payload names (its first 8 bytes); a payload too short names none.
bool names_sweep(const std::vector<std::byte>& payload, std::uint64_t sweep) {
  std::uint64_t named = 0;
  if (payload.size() < sizeof named) return false;
  std::memcpy(&named, payload.data(), sizeof named);
  return named == sweep;
}

// The header and every intact record of this sweep in a journal's bytes; the gaps between them.
JournalRecovery scan(const std::vector<std::byte>& file, const std::string& path) {
  std::size_t offset = 0;
  std::vector<std::byte> payload;
  if (!unframe(file, offset, kHeaderMagic, payload))
    throw std::runtime_error("\"" + path + "\" is not an icl-sweep journal, or its header is damaged");
  JournalRecovery found;
  found.config.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
  const std::uint64_t sweep = checksum(found.config);
  while (offset < file.size()) {
    const std::size_t at = offset;
    if (unframe(file, offset, kRecordMagic, payload)) {
      if (names_sweep(payload, sweep)) {
        payload.erase(payload.begin(), payload.begin() + sizeof sweep);
        found.records.push_back(unpack(payload));
        continue;
      }
      // An intact record of another sweep: joined to the one just before, if that was too.
      JournalRecovery::Gap* last = found.gaps.empty() ? nullptr : &found.gaps.back();
      if (last != nullptr && last->foreign_records > 0 && last->offset + last->length == at) {
        last->length += offset - at;
        ++last->foreign_records;
      } else {
        found.gaps.push_back({at, offset - at, false, 1});
      }
      continue;
    }
    const std::size_t next = next_record(file, at + 1);
    found.gaps.push_back({at, next - at, next == file.size(), 0});
    offset = next;
  }
  return found;
}

}  // namespace

JournalRecovery Journal::read(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  const Journal owner(fd, 0);  // closes it on every path; no lock taken
  return scan(read_file(fd, path), path);
}

std::vector<std::string> damaged_journals(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (int k = 0;; ++k) {
    std::string name = path + ".damaged";
    if (k > 0) name += '.' + std::to_string(k);
    if (!std::filesystem::exists(name, ec)) return names;
    names.push_back(name);
  }
}

std::string Journal::rewrite_path(const std::string& path) { return path + ".rewrite-" + std::to_string(::getpid()); }

Journal Journal::write_clean_copy(const std::string& path, const JournalRecovery& found) {
  // Under a name of this process's own, created exclusively: nothing that is there is replaced (a
  // file of that name, which no earlier process of this pid can have left, stops the rewrite).
  const std::string rewrite = rewrite_path(path);
  const int fd = ::open(rewrite.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      throw std::runtime_error("\"" + rewrite + "\", where the journal's intact records are to be written, exists; "
                               "move it away and resume again");
    fail("create", rewrite);
  }
  Journal copy(fd, checksum(found.config));
  lock(fd, rewrite);
  write_block(fd, kHeaderMagic, reinterpret_cast<const std::byte*>(found.config.data()), found.config.size());
  for (const TaskResult& r : found.records) copy.append(r);
  copy.sync();
  return copy;
}

Journal Journal::resume(const std::string& path, JournalRecovery& found) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  Journal j(fd, 0);
  lock(fd, path);
  found = scan(read_file(fd, path), path);
  j.sweep_ = checksum(found.config);
  if (found.gaps.empty()) return j;
  if (found.gaps.size() == 1 && found.gaps.front().at_end && found.gaps.front().foreign_records == 0) {
    // A torn tail (a crash mid-append): cut it so that the next append starts on a boundary.
    if (::ftruncate(fd, static_cast<off_t>(found.gaps.front().offset)) != 0) fail("truncate", path);
    return j;
  }
  // Damage before intact records, or another sweep's records: this sweep's intact ones go into a
  // clean journal, renamed over this one; the original stays beside it, under a name of its own, until the sweep completes.
  Journal clean = write_clean_copy(path, found);
  found.kept_aside = path + ".damaged";
  for (int k = 1; ::link(path.c_str(), found.kept_aside.c_str()) != 0; ++k) {
    if (errno != EEXIST) fail("keep a copy of", path);
    found.kept_aside = path + ".damaged";
    found.kept_aside += '.' + std::to_string(k);
  }
  if (::rename(rewrite_path(path).c_str(), path.c_str()) != 0) fail("replace", path);
  sync_directory_of(path);
  return clean;
}

std::string Journal::read_header(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  const Journal owner(fd, 0);  // closes it on every path
  std::vector<std::byte> head(kHeaderMagic.size() + 8);
  const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
  std::uint64_t length = 0;
  if (got == static_cast<ssize_t>(head.size())) std::memcpy(&length, head.data() + kHeaderMagic.size(), 8);
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0 && length <= static_cast<std::uint64_t>(st.st_size);
  std::vector<std::byte> file(sized ? head.size() + length + 8 : 0);
  const ssize_t all = sized ? ::pread(fd, file.data(), file.size(), 0) : -1;
  std::size_t offset = 0;
  std::vector<std::byte> payload;
  if (all != static_cast<ssize_t>(file.size()) ||
      !unframe(file, offset, kHeaderMagic, payload))
    throw std::runtime_error("\"" + path + "\" is not an icl-sweep journal, or its header is damaged");
  return std::string(reinterpret_cast<const char*>(payload.data()), payload.size());
}

void Journal::append(const TaskResult& result) {
  const std::vector<std::byte> packed = pack(result);
  std::vector<std::byte> payload(sizeof sweep_ + packed.size());
  std::memcpy(payload.data(), &sweep_, sizeof sweep_);
  std::memcpy(payload.data() + sizeof sweep_, packed.data(), packed.size());
  write_block(fd_, kRecordMagic, payload.data(), payload.size());
}

void Journal::sync() {
  if (::fdatasync(fd_) != 0) throw std::runtime_error(std::string("Failed to sync the journal: ") + std::strerror(errno));
}

Journal::Journal(Journal&& other) noexcept : fd_(std::exchange(other.fd_, -1)), sweep_(other.sweep_) {}
Journal& Journal::operator=(Journal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    sweep_ = other.sweep_;
  }
  return *this;
}
Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace icl
