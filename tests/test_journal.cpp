// The journal: records survive a reopen bitwise, a torn tail is dropped and cut, a corrupt
// record ends the readable part, a damaged header is refused, and one writer holds the lock.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "journal.hpp"
#include "messages.hpp"

namespace {

namespace fs = std::filesystem;
using icl::Journal;
using icl::ResultRow;
using icl::StoredSample;
using icl::TaskResult;

const std::string kConfig = "[sweep]\nname = journal_test\n\n[grid]\nd = 3, 5\nn_train = 10\n";

// Run `id` with `rows` rows (zeroed first, so they compare bytewise) and id + 2 samples.
TaskResult make_result(std::uint64_t id, std::size_t rows) {
  TaskResult t;
  t.train_id = id;
  for (std::size_t r = 0; r < rows; ++r) {
    ResultRow row;
    std::memset(&row, 0, sizeof row);
    row.row = id * 10 + r;
    row.train_id = id;
    row.done = 1;
    std::memcpy(row.status, "converged", 9);
    row.d = 3 + static_cast<std::int32_t>(id);
    row.m_test = 20 + static_cast<std::int32_t>(r);
    std::memcpy(row.shift, "none", 4);
    row.sigma = 0.01 * static_cast<double>(id + 1);
    row.loss_final = 1.0 / static_cast<double>(3 + r);
    row.risk_model_mc = -1e-17 * static_cast<double>(id);
    row.rank = static_cast<std::int32_t>(r);
    t.rows.push_back(row);
  }
  for (std::uint64_t s = 0; s < id + 2; ++s) {
    const double x = static_cast<double>(s);
    t.trajectory.push_back(StoredSample{x * x, 1.0 / (1.0 + x), 1e-6 * x, 0.1 * x});
  }
  return t;
}

void expect_same(const std::vector<TaskResult>& want, const std::vector<TaskResult>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].train_id, got[i].train_id);
    ASSERT_EQ(want[i].rows.size(), got[i].rows.size());
    for (std::size_t r = 0; r < want[i].rows.size(); ++r)
      EXPECT_EQ(std::memcmp(&want[i].rows[r], &got[i].rows[r], sizeof(ResultRow)), 0) << i << "/" << r;
    ASSERT_EQ(want[i].trajectory.size(), got[i].trajectory.size());
    for (std::size_t s = 0; s < want[i].trajectory.size(); ++s) {
      const StoredSample &a = want[i].trajectory[s], &b = got[i].trajectory[s];
      EXPECT_EQ(a.time, b.time);
      EXPECT_EQ(a.loss, b.loss);
      EXPECT_EQ(a.rel_err, b.rel_err);
      EXPECT_EQ(a.excess_loss, b.excess_loss);
    }
  }
}

// On disk: 8-byte header magic / 4-byte record magic, u64 length, payload, u64 checksum.
std::uintmax_t header_bytes() { return 8 + 16 + kConfig.size(); }
std::uintmax_t record_bytes(const TaskResult& t) { return 4 + 16 + icl::messages::pack(t).size(); }

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (fs::temp_directory_path() / ("icl_journal_" + std::string(info->name()) + "_" +
                                          std::to_string(::getpid()) + ".jrnl")).string();
    for (std::uint64_t id = 0; id < 4; ++id) records_.push_back(make_result(id, id == 2 ? 0 : 3));
  }
  void TearDown() override { fs::remove(path_); }

  // A journal holding kConfig and records_, closed again.
  void write_all() {
    Journal j = Journal::create(path_, kConfig);
    for (const auto& r : records_) j.append(r);
    j.sync();
  }
  std::vector<TaskResult> resume() {
    std::string config;
    std::vector<TaskResult> got;
    Journal j = Journal::resume(path_, config, got);
    EXPECT_EQ(config, kConfig);
    return got;
  }
  void flip_byte(std::uintmax_t offset) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    const char c = static_cast<char>(f.get() ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(c);
  }

  std::string path_;
  std::vector<TaskResult> records_;
};

TEST_F(JournalTest, ResumeReturnsConfigAndRecordsBitwise) {
  write_all();
  std::uintmax_t size = header_bytes();
  for (const auto& r : records_) size += record_bytes(r);
  EXPECT_EQ(fs::file_size(path_), size);
  expect_same(records_, resume());
  EXPECT_EQ(fs::file_size(path_), size);  // an intact journal is left alone
}

TEST_F(JournalTest, TornTailDropsOnlyTheLastRecordAndIsCut) {
  write_all();
  const std::uintmax_t full = fs::file_size(path_);
  const std::uintmax_t last = record_bytes(records_.back());
  const std::vector<TaskResult> first(records_.begin(), records_.end() - 1);
  // Cut inside the magic, the length, the payload and the checksum.
  for (const std::uintmax_t keep : {std::uintmax_t{2}, std::uintmax_t{9}, last / 2, last - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(last) + " bytes");
    fs::resize_file(path_, full - last + keep);
    expect_same(first, resume());
    EXPECT_EQ(fs::file_size(path_), full - last);  // the torn bytes are gone
    {
      std::string config;
      std::vector<TaskResult> got;
      Journal j = Journal::resume(path_, config, got);
      j.append(records_.back());
    }
    expect_same(records_, resume());
    EXPECT_EQ(fs::file_size(path_), full);
  }
}

TEST_F(JournalTest, BadChecksumStopsResumeThere) {
  write_all();
  // A byte in the payload of the second record (index 1): its checksum no longer matches.
  const std::uintmax_t second = header_bytes() + record_bytes(records_[0]);
  flip_byte(second + 4 + 8 + 40);
  // Today: the records before it come back, and the journal is cut at the bad record, so the
  // intact records after it are lost as well.
  expect_same({records_[0]}, resume());
  EXPECT_EQ(fs::file_size(path_), second);
}

TEST_F(JournalTest, DamagedHeaderThrows) {
  write_all();
  flip_byte(8 + 8 + 5);  // inside the config text
  std::string config;
  std::vector<TaskResult> got;
  EXPECT_THROW(Journal::resume(path_, config, got), std::runtime_error);

  write_all();
  flip_byte(0);  // the magic
  EXPECT_THROW(Journal::resume(path_, config, got), std::runtime_error);

  std::ofstream(path_, std::ios::trunc) << "not a journal";
  EXPECT_THROW(Journal::resume(path_, config, got), std::runtime_error);
  fs::remove(path_);
  EXPECT_THROW(Journal::resume(path_, config, got), std::runtime_error);  // missing
}

TEST_F(JournalTest, SecondWriterIsRefusedWhileTheFirstIsOpen) {
  std::string config;
  std::vector<TaskResult> got;
  {
    Journal first = Journal::create(path_, kConfig);
    first.append(records_[0]);
    Journal moved = std::move(first);  // the lock travels with the descriptor
    moved.append(records_[1]);
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (attempt == 0) Journal::resume(path_, config, got);
        else Journal::create(path_, "[grid]\nd = 1\n");
        ADD_FAILURE() << "attempt " << attempt << " did not throw";
      } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("another icl-sweep"), std::string::npos) << e.what();
      }
    }
  }
  // The refused create did not truncate: both records are still there.
  expect_same({records_[0], records_[1]}, resume());
}

}  // namespace
