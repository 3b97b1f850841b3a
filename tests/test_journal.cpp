// The journal: records survive a reopen bitwise, a torn tail is dropped and cut, a damaged
// record loses that record alone (the original kept aside), random damage of every kind keeps
// every intact record, a damaged header is refused, and one writer holds the lock.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/journal.hpp"
#include "schedule/messages.hpp"

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
    icl::risk_column(row, "risk_model_mc") = -1e-17 * static_cast<double>(id);
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

// On disk: 8-byte header magic / 4-byte record magic, u64 length, payload, u64 checksum; a
// record's payload is the u64 checksum of the header, then the run's bytes.
std::uintmax_t header_bytes() { return 8 + 16 + kConfig.size(); }
std::uintmax_t record_bytes(const TaskResult& t) { return 4 + 16 + 8 + icl::pack(t).size(); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (fs::temp_directory_path() / ("icl_journal_" + std::string(info->name()) + "_" +
                                          std::to_string(::getpid()) + ".jrnl")).string();
    for (std::uint64_t id = 0; id < 4; ++id) records_.push_back(make_result(id, id == 2 ? 0 : 3));
  }
  void TearDown() override {
    fs::remove(path_);
    for (const std::string& kept : icl::damaged_journals(path_)) fs::remove(kept);
  }

  // A journal holding kConfig and records_, closed again.
  void write_all() {
    Journal j = Journal::create(path_, kConfig);
    for (const auto& r : records_) j.append(r);
    j.sync();
  }
  std::vector<TaskResult> resume(icl::JournalRecovery* report = nullptr) {
    icl::JournalRecovery found;
    Journal j = Journal::resume(path_, found);
    EXPECT_EQ(found.config, kConfig);
    if (report != nullptr) *report = found;
    return found.records;
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
      icl::JournalRecovery found;
      Journal j = Journal::resume(path_, found);
      j.append(records_.back());
    }
    expect_same(records_, resume());
    EXPECT_EQ(fs::file_size(path_), full);
  }
}

TEST_F(JournalTest, DamagedRecordLosesItselfAloneAndTheOriginalIsKeptAside) {
  write_all();
  const std::string original = [&] {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  // A byte in the payload of the second record (index 1): its checksum no longer matches.
  const std::uintmax_t second = header_bytes() + record_bytes(records_[0]);
  flip_byte(second + 4 + 8 + 40);
  icl::JournalRecovery found;
  expect_same({records_[0], records_[2], records_[3]}, resume(&found));
  ASSERT_EQ(found.gaps.size(), 1u);
  EXPECT_EQ(found.gaps[0].offset, second);
  EXPECT_EQ(found.gaps[0].length, record_bytes(records_[1]));
  EXPECT_FALSE(found.gaps[0].at_end);
  // The original, damage and all, is kept aside; the journal holds the intact records alone.
  ASSERT_EQ(found.kept_aside, path_ + ".damaged");
  std::ifstream kept(found.kept_aside, std::ios::binary);
  std::string kept_bytes(std::istreambuf_iterator<char>(kept), {});
  kept_bytes[second + 4 + 8 + 40] ^= 0x5a;
  EXPECT_EQ(kept_bytes, original);
  EXPECT_EQ(fs::file_size(path_), fs::file_size(found.kept_aside) - record_bytes(records_[1]));
  expect_same({records_[0], records_[2], records_[3]}, resume(&found));
  EXPECT_TRUE(found.gaps.empty());
  EXPECT_TRUE(found.kept_aside.empty());
  // Damaged again: the first copy stays, the second takes the next name.
  flip_byte(header_bytes() + 4 + 8 + 40);
  expect_same({records_[2], records_[3]}, resume(&found));
  EXPECT_EQ(found.kept_aside, path_ + ".damaged.1");
  EXPECT_EQ(icl::damaged_journals(path_).size(), 2u);
}

// Random damage of every kind (flipped bytes, cuts, inserted garbage, false record magics) in a
// journal of many records: every record whose bytes are untouched comes back, in order, and the
// journal resumed again is clean.
TEST_F(JournalTest, FuzzedJournalKeepsEveryIntactRecord) {
  records_.clear();
  for (std::uint64_t id = 0; id < 60; ++id) records_.push_back(make_result(id, id % 4));
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // each record's bytes [begin, end)
  std::size_t at = header_bytes();
  for (const auto& r : records_) {
    spans.emplace_back(at, at + record_bytes(r));
    at += record_bytes(r);
  }
  std::mt19937_64 rng(20261125);
  int kept_total = 0, lost_total = 0;
  for (int trial = 0; trial < 200; ++trial) {
    write_all();
    std::string bytes = [&] {
      std::ifstream in(path_, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    // Mutations are applied from the end backwards, so that earlier offsets stay valid.
    std::set<std::size_t, std::greater<>> where;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    while (static_cast<int>(where.size()) < mutations)
      where.insert(header_bytes() + rng() % (bytes.size() - header_bytes()));
    std::vector<char> broken(records_.size(), 0);
    const auto breaks = [&](std::size_t offset, bool from_here_on) {
      for (std::size_t i = 0; i < spans.size(); ++i)
        if ((offset >= spans[i].first && offset < spans[i].second) || (from_here_on && spans[i].first >= offset))
          broken[i] = 1;
    };
    std::string what;
    for (const std::size_t offset : where) {
      switch (rng() % 4) {
        case 0:  // a flipped byte
          bytes[offset] = static_cast<char>(bytes[offset] ^ (1 + rng() % 255));
          breaks(offset, false);
          what += " flip@" + std::to_string(offset);
          break;
        case 1: {  // a cut: everything from here on is gone
          bytes.resize(offset);
          breaks(offset, true);
          what += " cut@" + std::to_string(offset);
          break;
        }
        case 2: {  // inserted garbage, breaking the record it lands in (not one it precedes)
          std::string garbage(1 + rng() % 64, '\0');
          for (char& c : garbage) c = static_cast<char>(rng());
          bytes.insert(offset, garbage);
          for (std::size_t i = 0; i < spans.size(); ++i)
            if (offset > spans[i].first && offset < spans[i].second) broken[i] = 1;
          what += " insert@" + std::to_string(offset);
          break;
        }
        default: {  // a false record magic with a plausible length
          const std::string fake = std::string("RUN2") + std::string("\x40\0\0\0\0\0\0\0", 8);
          bytes.insert(offset, fake);
          for (std::size_t i = 0; i < spans.size(); ++i)
            if (offset > spans[i].first && offset < spans[i].second) broken[i] = 1;
          what += " magic@" + std::to_string(offset);
        }
      }
    }
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    std::vector<TaskResult> want;
    for (std::size_t i = 0; i < records_.size(); ++i)
      if (!broken[i]) want.push_back(records_[i]);
    SCOPED_TRACE("trial " + std::to_string(trial) + ":" + what);
    expect_same(want, resume());
    icl::JournalRecovery again;
    expect_same(want, resume(&again));
    EXPECT_TRUE(again.gaps.empty());
    kept_total += static_cast<int>(want.size());
    lost_total += static_cast<int>(records_.size() - want.size());
    for (const std::string& kept : icl::damaged_journals(path_)) fs::remove(kept);
    if (HasFailure()) break;
  }
  std::printf("200 fuzzed journals of 60 records: %d intact records kept, %d damaged ones dropped\n", kept_total,
              lost_total);
}

// Records of another sweep (its journal spliced into this one: here another sweep's record of run
// 1, with other rows, before this sweep's own) are intact but no records of this sweep: they are
// reported as gaps that say how many records of another sweep they hold, never returned, and the
// journal is rewritten without them (the original kept aside).
TEST_F(JournalTest, RecordsOfAnotherSweepAreNotThisSweepsRecords) {
  const std::string other = path_ + ".other";
  {
    Journal j = Journal::create(other, kConfig + "seed = 11\n");
    j.append(make_result(1, 5));
    j.append(make_result(7, 2));
    j.sync();
  }
  write_all();
  const std::string mine = read_bytes(path_), theirs = read_bytes(other);
  fs::remove(other);
  const std::size_t their_header = 8 + 16 + kConfig.size() + 10;
  const std::string foreign = theirs.substr(their_header);
  const std::size_t first = header_bytes() + record_bytes(records_[0]);
  // Theirs after my record 0 (both), and their first again at the very end.
  std::ofstream(path_, std::ios::binary | std::ios::trunc)
      << mine.substr(0, first) << foreign << mine.substr(first) << foreign.substr(0, record_bytes(make_result(1, 5)));
  icl::JournalRecovery found;
  expect_same(records_, resume(&found));
  ASSERT_EQ(found.gaps.size(), 2u);
  EXPECT_EQ(found.gaps[0].offset, first);
  EXPECT_EQ(found.gaps[0].length, foreign.size());
  EXPECT_EQ(found.gaps[0].foreign_records, 2u);
  EXPECT_EQ(found.gaps[1].offset, mine.size() + foreign.size());
  EXPECT_EQ(found.gaps[1].foreign_records, 1u);
  EXPECT_FALSE(found.gaps[1].at_end);  // not cut as a torn tail: kept aside with the rest
  EXPECT_EQ(found.kept_aside, path_ + ".damaged");
  EXPECT_EQ(read_bytes(path_), mine);
  expect_same(records_, resume(&found));
  EXPECT_TRUE(found.gaps.empty());
  // Read without resuming, the same.
  std::ofstream(path_, std::ios::binary | std::ios::app) << foreign;
  const icl::JournalRecovery read = Journal::read(path_);
  expect_same(records_, read.records);
  ASSERT_EQ(read.gaps.size(), 1u);
  EXPECT_EQ(read.gaps[0].foreign_records, 2u);
}

TEST_F(JournalTest, DamagedHeaderThrows) {
  write_all();
  flip_byte(8 + 8 + 5);  // inside the config text
  icl::JournalRecovery found;
  EXPECT_THROW(Journal::resume(path_, found), std::runtime_error);

  write_all();
  flip_byte(0);  // the magic
  EXPECT_THROW(Journal::resume(path_, found), std::runtime_error);

  std::ofstream(path_, std::ios::trunc) << "not a journal";
  EXPECT_THROW(Journal::resume(path_, found), std::runtime_error);
  fs::remove(path_);
  EXPECT_THROW(Journal::resume(path_, found), std::runtime_error);  // missing
}

TEST_F(JournalTest, SecondWriterIsRefusedWhileTheFirstIsOpen) {
  icl::JournalRecovery got;
  {
    Journal first = Journal::create(path_, kConfig);
    first.append(records_[0]);
    Journal moved = std::move(first);  // the lock travels with the descriptor
    moved.append(records_[1]);
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (attempt == 0) Journal::resume(path_, got);
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
