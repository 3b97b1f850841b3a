// What lasts beside a sweep's output: the checkpoint directory gives up nothing icl-sweep did
// not write (it is neither removed nor replaced, and a path that cannot be read is no checkpoint),
// and one writer holds an output on every path that opens its journal (a fresh start, a resume,
// a resume whose journal was rewritten after damage).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config/sweep_config.hpp"
#include "config/sweep_identity.hpp"
#include "store/results_file.hpp"
#include "store/journal.hpp"
#include "store/run_checkpoint.hpp"
#include "store/sweep_store.hpp"
#include "task/grid.hpp"
#include "task/run_task.hpp"

namespace {

namespace fs = std::filesystem;
using icl::RunCheckpoints;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class SweepStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("icl_store_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    output_ = (dir_ / "out.h5").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string output_;
};

TEST_F(SweepStoreTest, CheckpointsRemoveAndReplaceOnlyTheirOwnFiles) {
  const icl::SweepConfig config = icl::parse_config("[sweep]\nseed = 1\n[grid]\nd = 2\nn_train = 4\n", "t.ini", {});
  const RunCheckpoints checkpoints(output_, icl::identity_of(config));
  const std::string where = RunCheckpoints::directory(output_);
  EXPECT_TRUE(RunCheckpoints::strays(output_).empty());  // nothing there

  // A file of that name is not the directory: a stray, never removed; nothing can be saved.
  write_bytes(where, "notes");
  EXPECT_EQ(RunCheckpoints::strays(output_), std::vector<std::string>{where});
  EXPECT_THROW(checkpoints.save(0, "state"), std::exception);
  EXPECT_EQ(checkpoints.load(0), "");
  checkpoints.remove_all();
  EXPECT_EQ(read_bytes(where), "notes");
  fs::remove(where);

  checkpoints.save(3, "state of run 3");
  EXPECT_EQ(checkpoints.load(3), "state of run 3");
  const std::string magic = read_bytes(where + "/run-3").substr(0, 8);
  ASSERT_EQ(magic, "ICLCKPT1");
  write_bytes(where + "/run-4.tmp-99", magic + "torn");  // a write cut off: its own
  write_bytes(where + "/run-5.tmp-1", "");               // cut off before its first byte: its own
  write_bytes(where + "/run-6", "a user's file");        // named as a checkpoint, not one
  write_bytes(where + "/notes.txt", magic);               // not a checkpoint's name
  write_bytes(where + "/run-x", magic);
  write_bytes(where + "/run-9.tmp-", magic);
  fs::create_directory(where + "/run-7");
  fs::create_symlink(where + "/run-3", where + "/run-8");
  EXPECT_EQ(RunCheckpoints::strays(output_),
            (std::vector<std::string>{where + "/notes.txt", where + "/run-6", where + "/run-7", where + "/run-8",
                                      where + "/run-9.tmp-", where + "/run-x"}));
  for (const char* name : {"/run-3", "/run-4.tmp-99", "/run-5.tmp-1"}) EXPECT_TRUE(RunCheckpoints::own_file(where + name)) << name;

  // What is not its own is not replaced (the save throws; the caller trains on), not read as a
  // checkpoint, and not removed.
  EXPECT_THROW(checkpoints.save(6, "state of run 6"), std::runtime_error);
  EXPECT_THROW(checkpoints.save(7, "state of run 7"), std::runtime_error);
  EXPECT_THROW(checkpoints.save(8, "state of run 8"), std::runtime_error);
  EXPECT_EQ(read_bytes(where + "/run-6"), "a user's file");
  EXPECT_TRUE(fs::is_symlink(where + "/run-8"));
  EXPECT_EQ(checkpoints.load(6), "");
  EXPECT_EQ(checkpoints.load(7), "");  // a directory: no checkpoint, and no exception
  checkpoints.save(3, "run 3 again");  // its own: replaced
  EXPECT_EQ(checkpoints.load(3), "run 3 again");
  checkpoints.remove(6);
  checkpoints.remove(3);
  EXPECT_TRUE(fs::exists(where + "/run-6"));
  EXPECT_FALSE(fs::exists(where + "/run-3"));
  checkpoints.remove_all();
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(where)) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  // The directory it made is marked as its own; with the user's files in it, it stays, marked.
  EXPECT_EQ(left, (std::vector<std::string>{".icl-sweep-checkpoints", "notes.txt", "run-6", "run-7", "run-8",
                                            "run-9.tmp-", "run-x"}));
  for (const std::string& name : left)
    if (name != ".icl-sweep-checkpoints") fs::remove_all(where + "/" + name);
  checkpoints.save(1, "x");
  checkpoints.remove_all();
  EXPECT_FALSE(fs::exists(where));  // its own directory, emptied of its own files, goes too
  // A directory the user made is used, and left in place (emptied of icl-sweep's files alone).
  fs::create_directory(where);
  EXPECT_TRUE(RunCheckpoints::strays(output_).empty());
  checkpoints.save(2, "y");
  EXPECT_EQ(checkpoints.load(2), "y");
  checkpoints.remove_all();
  EXPECT_TRUE(fs::is_directory(where) && fs::is_empty(where));
}

// The one-writer rule on every path of the store that opens a journal: while a store holds the
// output (started fresh, resumed, resumed after its journal was rewritten), every other start or
// resume of it is refused and changes nothing; a reader still reads.
TEST_F(SweepStoreTest, OneWriterOnEveryPathThatOpensTheJournal) {
  const icl::SweepConfig config =
      icl::parse_config("[sweep]\nseed = 1\n[grid]\nd = 2\nn_train = 4\nsigma = 0.1, 0.2, 0.3\n", "t.ini", {});
  const icl::Grid grid(config);
  const icl::SweepIdentity identity = icl::identity_of(config);
  const std::string journal = icl::journal_path(output_);
  std::vector<std::string> notes;
  const auto others_refused = [&](const std::string& when) {
    const std::string before = read_bytes(journal);
    const std::string file_before = read_bytes(output_);
    try {
      icl::SweepStore::create(output_, identity, grid, config.flow.trajectory_points, 1);
      ADD_FAILURE() << when << ": a second fresh start was admitted";
    } catch (const icl::StoreRefusal& e) {
      EXPECT_NE(std::string(e.what()).find("another icl-sweep"), std::string::npos) << when << ": " << e.what();
    }
    try {
      icl::SweepStore::resume(output_, identity, grid, config.flow.trajectory_points, 1, notes);
      ADD_FAILURE() << when << ": a second resume was admitted";
    } catch (const icl::JournalLocked& e) {
      EXPECT_NE(std::string(e.what()).find("another icl-sweep"), std::string::npos) << when << ": " << e.what();
    }
    EXPECT_EQ(read_bytes(journal), before) << when;
    EXPECT_EQ(read_bytes(output_), file_before) << when;
    EXPECT_NO_THROW(icl::Journal::read(journal)) << when;
  };
  std::vector<icl::TaskResult> results;
  for (std::uint64_t id = 0; id < grid.runs(); ++id) results.push_back(icl::run_task(config, grid, id, 0, nullptr));
  {
    icl::SweepStore first = icl::SweepStore::create(output_, identity, grid, config.flow.trajectory_points, 1);
    first.record(icl::TaskResult(results[0]));
    first.record(icl::TaskResult(results[1]));
    first.checkpoint();
    others_refused("started");
  }
  {
    icl::SweepStore resumed = icl::SweepStore::resume(output_, identity, grid, config.flow.trajectory_points, 1, notes);
    EXPECT_EQ(resumed.rows_done(), 2 * grid.conditions_per_run());
    others_refused("resumed");
  }
  // Damage in the first record: the journal is rewritten (a new file renamed over it), and the
  // rewritten journal is held as the old one was. A file of the user's where the rewrite goes
  // stops it (nothing changed); files of the user's named as kept journals stay.
  std::string bytes = read_bytes(journal);
  const std::size_t header = 8 + 8 + identity.text().size() + 8;
  bytes[header + 40] = static_cast<char>(bytes[header + 40] ^ 0x5a);
  write_bytes(journal, bytes);
  // The rewrite is written under a name of this process's own, created exclusively: a file there
  // stops it, unchanged; a copy of the journal that the user made beside it is no concern of it.
  write_bytes(icl::Journal::rewrite_path(journal), "the user's");
  write_bytes(journal + ".rewrite", bytes);
  try {
    icl::SweepStore::resume(output_, identity, grid, config.flow.trajectory_points, 1, notes);
    ADD_FAILURE() << "resumed over the user's file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exists; move it away"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(icl::Journal::rewrite_path(journal)), "the user's");
  EXPECT_EQ(read_bytes(journal), bytes);
  fs::remove(icl::Journal::rewrite_path(journal));
  {
    notes.clear();
    icl::SweepStore resumed = icl::SweepStore::resume(output_, identity, grid, config.flow.trajectory_points, 1, notes);
    ASSERT_EQ(icl::damaged_journals(journal).size(), 1u);
    EXPECT_EQ(resumed.rows_done(), grid.conditions_per_run());
    others_refused("resumed after damage");
    write_bytes(journal + ".damaged.1", "the user's");
    resumed.record(icl::TaskResult(results[0]));
    resumed.record(icl::TaskResult(results[2]));
    resumed.finish();
  }
  EXPECT_FALSE(fs::exists(journal));
  EXPECT_FALSE(fs::exists(journal + ".damaged"));  // the journal this process kept aside
  EXPECT_EQ(read_bytes(journal + ".damaged.1"), "the user's");
  EXPECT_EQ(read_bytes(journal + ".rewrite"), bytes);
}

// Only the damaged journal the finishing process kept aside goes: a copy of the journal that the
// user made under such a name (the same header, the same bytes) stays.
TEST_F(SweepStoreTest, AUsersCopyOfTheJournalIsNotRemoved) {
  const icl::SweepConfig config = icl::parse_config("[sweep]\nseed = 1\n[grid]\nd = 2\nn_train = 4\nsigma = 0.1, 0.2\n",
                                                    "t.ini", {});
  const icl::Grid grid(config);
  const icl::SweepIdentity identity = icl::identity_of(config);
  const std::string journal = icl::journal_path(output_);
  {
    icl::SweepStore store = icl::SweepStore::create(output_, identity, grid, config.flow.trajectory_points, 1);
    store.record(icl::run_task(config, grid, 0, 0, nullptr));
    store.checkpoint();
  }
  const std::string copy = read_bytes(journal);
  write_bytes(journal + ".damaged", copy);
  std::vector<std::string> notes;
  {
    icl::SweepStore store = icl::SweepStore::resume(output_, identity, grid, config.flow.trajectory_points, 1, notes);
    store.record(icl::run_task(config, grid, 1, 0, nullptr));
    store.finish();
  }
  EXPECT_FALSE(fs::exists(journal));
  EXPECT_EQ(read_bytes(journal + ".damaged"), copy);
}

// A file marked complete that holds a row not done is no result: it is not taken as complete.
TEST_F(SweepStoreTest, ACompleteFileWithARowNotDoneIsNoResult) {
  const icl::SweepConfig config = icl::parse_config("[sweep]\nseed = 1\n[grid]\nd = 2\nn_train = 4\n", "t.ini", {});
  const icl::Grid grid(config);
  {
    icl::SweepStore store = icl::SweepStore::create(output_, icl::identity_of(config), grid, config.flow.trajectory_points, 1);
    store.record(icl::run_task(config, grid, 0, 0, nullptr));
    store.finish();
  }
  EXPECT_EQ(icl::inspect_output(output_).kind, icl::ExistingOutput::Kind::complete);
  {
    icl::ResultsFile file = icl::ResultsFile::open(output_);
    std::vector<icl::ResultRow> row = file.read_rows(0, 1);
    row[0].done = 0;
    file.write_rows(0, row);
  }
  const icl::ExistingOutput found = icl::inspect_output(output_);
  EXPECT_EQ(found.kind, icl::ExistingOutput::Kind::foreign);
  EXPECT_NE(found.why.find("1 of its 1 rows are not done"), std::string::npos) << found.why;
  // done = 1 without a status (a row never computed, marked done): not done either.
  {
    icl::ResultsFile file = icl::ResultsFile::open(output_);
    std::vector<icl::ResultRow> row = file.read_rows(0, 1);
    row[0].done = 1;
    icl::set_text(row[0].status, "");
    file.write_rows(0, row);
    EXPECT_EQ(file.count_done(), 0u);
  }
  EXPECT_EQ(icl::inspect_output(output_).kind, icl::ExistingOutput::Kind::foreign);
}

}  // namespace
