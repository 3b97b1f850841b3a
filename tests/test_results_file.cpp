// The results file: rows written in place in any order, trajectories, root attributes, and the
// errors it reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "store/hdf5.hpp"
#include "config/digest.hpp"
#include "store/results_file.hpp"

namespace {

namespace fs = std::filesystem;
using icl::FileAttributes;
using icl::H5Error;
using icl::ResultRow;
using icl::StoredSample;

// Raw bytes, unlike icl::set_text: a text may fill the whole field without a NUL (row 7's
// spectrum), as HDF5's fixed-length strings allow. The field is zeroed beforehand, which
// supplies the NUL padding of shorter ones.
template <std::size_t N>
void copy_text(char (&field)[N], const std::string& text) {
  std::memcpy(field, text.data(), std::min(text.size(), N));
}

// The texts the rows below hold, as a grid gives them to the file.
const icl::TextValues kTexts{{"power(1)", std::string(sizeof(ResultRow::spectrum), 'p')}, {"covariate_scale(2)"}, {"flow"}, {"adam"}, {"constant"}, {"paper"}};

bool all_zero(const ResultRow& row) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&row);
  for (std::size_t i = 0; i < sizeof row; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

ResultRow make_row(std::uint64_t r) {
  ResultRow row;
  std::memset(&row, 0, sizeof row);  // padding too, so that rows compare bytewise
  const double x = static_cast<double>(r);
  row.row = r;
  row.train_id = r / 3;
  row.done = 1;
  copy_text(row.status, r % 2 == 0 ? "converged" : "max_time");
  row.d = 5;
  row.n_train = 20 + static_cast<std::int32_t>(r);
  row.m_test = 40;
  // One spectrum fills its field completely: no terminator, as NUL padding allows.
  copy_text(row.spectrum, r == 7 ? std::string(sizeof row.spectrum, 'p') : "power(1)");
  copy_text(row.shift, "covariate_scale(2)");
  row.sigma = 0.1 * x;
  row.init_seed = static_cast<std::int32_t>(r) - 3;
  row.gf_time = 1e3 + x;
  row.gf_steps = std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(r);
  row.loss_final = 1.0 / (1.0 + x);
  row.loss_min = 0.5 / (1.0 + x);
  row.rel_err = 1e-9 * x;
  row.balance_drift = -1e-12 * x;
  icl::risk_column(row, "risk_model_theory") = std::numeric_limits<double>::quiet_NaN();
  icl::risk_column(row, "risk_lsa_limit") = 2.0 + x;
  icl::risk_column(row, "risk_model_mc") = 3.0 + x;
  icl::risk_column(row, "risk_model_mc_se") = 0.01;
  icl::risk_column(row, "risk_ols_mc") = 4.0 + x;
  icl::risk_column(row, "risk_ols_mc_se") = 0.02;
  icl::risk_column(row, "risk_ridge_mc") = 5.0 + x;
  icl::risk_column(row, "risk_ridge_mc_se") = 0.03;
  icl::risk_column(row, "risk_gd_theory") = 6.0 + x;
  icl::risk_column(row, "risk_gd_mc") = 7.0 + x;
  icl::risk_column(row, "risk_avg_mc") = 8.0 + x;
  icl::risk_column(row, "risk_avg_mc_se") = 0.04;
  icl::risk_column(row, "risk_knn_mc") = 9.0 + x;
  icl::risk_column(row, "risk_knn_mc_se") = 0.05;
  icl::risk_column(row, "risk_zero") = std::numeric_limits<double>::infinity();
  row.mc_prompts = 1000;
  row.seconds = 0.25 * x;
  row.rank = static_cast<std::int32_t>(r % 4);
  return row;
}

FileAttributes make_attributes(std::size_t config_bytes) {
  FileAttributes attributes;
  attributes.config = "[sweep]\n";
  while (attributes.config.size() < config_bytes) attributes.config += "d = 1, 2, 4, 8  # ‖A‖_F\n";
  attributes.tool_version = "0.1.0";
  attributes.git_commit = "";  // HDF5 has no empty strings; must still read back empty
  attributes.created_utc = "2024-05-01T12:00:00Z";
  attributes.updated_utc = "2024-05-01T12:00:00Z";
  attributes.mpi_ranks = 8;
  return attributes;
}

void expect_same(const FileAttributes& got, const FileAttributes& want) {
  EXPECT_EQ(got.config, want.config);
  EXPECT_EQ(got.inputs, want.inputs);
  EXPECT_EQ(got.schema_version, want.schema_version);
  EXPECT_EQ(got.program, want.program);
  EXPECT_EQ(got.tool_version, want.tool_version);
  EXPECT_EQ(got.git_commit, want.git_commit);
  EXPECT_EQ(got.created_utc, want.created_utc);
  EXPECT_EQ(got.updated_utc, want.updated_utc);
  EXPECT_EQ(got.mpi_ranks, want.mpi_ranks);
  EXPECT_EQ(got.rows_total, want.rows_total);
  EXPECT_EQ(got.rows_done, want.rows_done);
  EXPECT_EQ(got.completed, want.completed);
}

class ResultsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("icl_results_file_" + std::to_string(std::random_device{}()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

TEST_F(ResultsFile, RowsWrittenOutOfOrderReadBackBitwiseAndTheRestStaysZero) {
  const std::string file = path("rows.h5");
  constexpr std::uint64_t total = 10, runs = 4;
  constexpr int points = 5;
  std::vector<ResultRow> rows;
  for (std::uint64_t r = 0; r < total; ++r) rows.push_back(make_row(r));
  const std::vector<bool> written = {true, false, true, true, true, false, false, true, true, true};
  std::vector<StoredSample> samples;
  for (int k = 0; k < points; ++k)
    samples.push_back({0.5 * k, 1.0 / (1 + k), 2.0 / (1 + k), 1e-3 * k});
  {
    auto results = icl::ResultsFile::create(file, total, runs, points, 3, make_attributes(100), kTexts);
    const std::span<const ResultRow> all(rows);
    results.write_rows(7, all.subspan(7, 2));
    results.write_rows(2, all.subspan(2, 3));
    results.write_rows(9, all.subspan(9, 1));
    results.write_rows(0, all.subspan(0, 1));
    results.write_rows(5, all.subspan(5, 0));
    // Runs 2 and 3 in one write: consecutive runs' trajectories, one after the other.
    std::vector<StoredSample> two_runs = samples;
    for (StoredSample sample : samples) {
      sample.time += 100.0;
      two_runs.push_back(sample);
    }
    results.write_trajectory(2, two_runs);
    // Weights of runs 1 and 2 in one write, 3 values each; a wrong count is refused.
    results.write_parameters(1, std::vector<double>{1.5, -2.0, 3.25, 4.0, 5.0, -6.5});
    EXPECT_THROW(results.write_parameters(0, std::vector<double>{1.0, 2.0}), icl::H5Error);
    results.flush();
  }
  {
    const auto results = icl::ResultsFile::open(file);
    const std::vector<ResultRow> back = results.read_rows(0, total);
    ASSERT_EQ(back.size(), total);
    for (std::uint64_t r = 0; r < total; ++r) {
      if (written[r]) {
        EXPECT_EQ(std::memcmp(&back[r], &rows[r], sizeof(ResultRow)), 0) << "row " << r;
      } else {
        EXPECT_EQ(back[r].done, 0) << "row " << r;
        EXPECT_TRUE(all_zero(back[r])) << "row " << r;
      }
    }
    // read_trajectory gives back run 3's samples bitwise, and run 0's NaN fill.
    const std::vector<StoredSample> run3 = results.read_trajectory(3);
    ASSERT_EQ(run3.size(), static_cast<std::size_t>(points));
    for (int k = 0; k < points; ++k) {
      EXPECT_EQ(run3[k].time, samples[k].time + 100.0);
      EXPECT_EQ(run3[k].excess_loss, samples[k].excess_loss);
    }
    EXPECT_TRUE(std::isnan(results.read_trajectory(0)[0].loss));
    ASSERT_EQ(results.parameters_per_run(), 3);
    EXPECT_EQ(results.read_parameters(2), (std::vector<double>{4.0, 5.0, -6.5}));
    EXPECT_TRUE(std::isnan(results.read_parameters(3)[1]));  // never written: NaN
    const std::vector<ResultRow> middle = results.read_rows(7, 2);
    ASSERT_EQ(middle.size(), 2u);
    EXPECT_EQ(std::memcmp(middle.data(), &rows[7], 2 * sizeof(ResultRow)), 0);
  }

  // ResultsFile has no reader for trajectories; the run-side code never needs one.
  const auto h5file =
      icl::h5::File::open(file, H5F_ACC_RDONLY, icl::h5::PropertyList::file_access());
  const icl::h5::Group group = h5file.open_group("trajectories");
  std::vector<std::uint64_t> ids(runs);
  group.open_dataset("train_id")
      .read_block(std::array<hsize_t, 1>{0}, std::array<hsize_t, 1>{runs},
                  icl::h5::native<std::uint64_t>(), ids.data());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  const std::vector<std::pair<const char*, double StoredSample::*>> columns = {
      {"time", &StoredSample::time},
      {"loss", &StoredSample::loss},
      {"rel_err", &StoredSample::rel_err},
      {"excess_loss", &StoredSample::excess_loss}};
  for (const auto& [name, member] : columns) {
    std::vector<double> values(runs * points);
    group.open_dataset(name).read_block(std::array<hsize_t, 2>{0, 0},
                                        std::array<hsize_t, 2>{runs, points},
                                        icl::h5::native<double>(), values.data());
    for (std::uint64_t run = 0; run < runs; ++run)
      for (int k = 0; k < points; ++k) {
        const double value = values[run * points + k];
        if (run == 2 || run == 3)
          EXPECT_EQ(value, samples[k].*member + (run == 3 && member == &StoredSample::time ? 100.0 : 0.0))
              << name << " run " << run << " sample " << k;
        else
          EXPECT_TRUE(std::isnan(value)) << name << " run " << run << " sample " << k;
      }
  }
}

TEST_F(ResultsFile, AttributesRoundTripThroughRewritesOfAnySize) {
  const std::string file = path("attributes.h5");
  // Beyond the 64 KiB an attribute may take in an object header.
  FileAttributes want = make_attributes(100'000);
  want.rows_total = 0;  // create() stores the extent of /results instead
  icl::ResultsFile::create(file, 6, 2, 3, 0, want, kTexts);
  want.rows_total = 6;
  expect_same(icl::ResultsFile::open(file).read_attributes(), want);

  want.config = "d = 1\n";
  want.git_commit = "0123456789abcdef";
  want.updated_utc = "2024-05-02T08:30:00Z";
  want.rows_done = 6;
  want.completed = 1;
  icl::ResultsFile::open(file).write_attributes(want);
  expect_same(icl::ResultsFile::open(file).read_attributes(), want);

  want.config = make_attributes(200'000).config;
  want.git_commit = "";
  icl::ResultsFile::open(file).write_attributes(want);
  expect_same(icl::ResultsFile::open(file).read_attributes(), want);
}

TEST_F(ResultsFile, WritesOutsideTheFileThrow) {
  const std::string file = path("range.h5");
  auto results = icl::ResultsFile::create(file, 4, 2, 3, 0, make_attributes(10), kTexts);
  const std::vector<ResultRow> rows(2, make_row(0));
  EXPECT_THROW(results.write_rows(3, rows), H5Error);
  EXPECT_THROW(results.write_rows(4, std::span(rows).first(1)), H5Error);
  EXPECT_THROW(results.write_rows(std::numeric_limits<std::uint64_t>::max(), rows), H5Error);
  EXPECT_THROW(results.read_rows(3, 2), H5Error);
  const std::vector<StoredSample> samples(3);
  EXPECT_THROW(results.write_trajectory(2, samples), H5Error);
  EXPECT_THROW(results.write_trajectory(0, std::span(samples).first(2)), H5Error);
  EXPECT_NO_THROW(results.write_rows(2, rows));
  EXPECT_NO_THROW(results.write_trajectory(1, samples));
  std::vector<StoredSample> two_runs = samples;
  two_runs.insert(two_runs.end(), samples.begin(), samples.end());
  EXPECT_NO_THROW(results.write_trajectory(0, two_runs));
  EXPECT_THROW(results.write_trajectory(1, two_runs), H5Error);  // run 2 does not exist
  EXPECT_THROW(results.write_trajectory(0, {}), H5Error);
  try {
    results.write_rows(3, rows);
    FAIL() << "wrote past the end";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"results\" in \"" + file + "\""), std::string::npos)
        << e.what();
  }
}

TEST_F(ResultsFile, ModelStatesRoundTripBitwiseAndAreReplacedWhenWrittenAgain) {
  const std::string file = path("models.h5");
  const std::string state("PK\0\x03 weights\xff\x00 more", 20);
  {
    auto results = icl::ResultsFile::create(file, 4, 2, 3, 0, make_attributes(4), kTexts);
    results.write_model_state(1, state);
    results.write_model_state(0, "first");
    results.write_model_state(0, "written again, longer");  // a rebuild from the journal writes it again
    results.write_model_state(1, "");                       // and a failed run keeps none
    results.write_model_state(1, state);
    results.close();
  }
  const auto results = icl::ResultsFile::open(file, false);
  EXPECT_EQ(results.read_model_state(1), state);
  EXPECT_EQ(results.read_model_state(0), "written again, longer");
  EXPECT_EQ(results.read_model_state(7), "");  // none kept
}

TEST_F(ResultsFile, CreateRejectsEmptyShapes) {
  EXPECT_THROW(icl::ResultsFile::create(path("a.h5"), 0, 1, 1, 0, {}, kTexts), std::invalid_argument);
  EXPECT_THROW(icl::ResultsFile::create(path("b.h5"), 1, 0, 1, 0, {}, kTexts), std::invalid_argument);
  EXPECT_THROW(icl::ResultsFile::create(path("c.h5"), 1, 1, 0, 0, {}, kTexts), std::invalid_argument);
}

TEST_F(ResultsFile, OpeningAMissingFileNamesThePath) {
  const std::string missing = path("missing.h5");
  try {
    icl::ResultsFile::open(missing);
    FAIL() << "opened a missing file";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

}  // namespace

// The schema: every declared column is a member of the file's compound type, with its declared
// class and size; a text column is an enumeration of "" and its values, each stored once.
TEST_F(ResultsFile, EveryDeclaredColumnIsInTheFileWithItsType) {
  const std::string file = path("schema.h5");
  icl::ResultsFile::create(file, 3, 1, 2, 0, make_attributes(10), kTexts).close();
  const icl::h5::File f = icl::h5::File::open(file, H5F_ACC_RDONLY, icl::h5::PropertyList::file_access());
  const icl::h5::Dataset results = f.open_dataset("results");
  const icl::h5::Datatype stored = results.type();
  const hid_t type = stored.id();
  EXPECT_EQ(H5Tget_nmembers(type), static_cast<int>(icl::kColumns.size()));
  std::size_t text_bytes = 0, other_bytes = 0;
  for (const icl::Column& c : icl::kColumns) {
    const std::string name(c.name);
    const icl::h5::Datatype member = stored.member(name);
    const H5T_class_t want = c.type == icl::ColumnType::text  ? H5T_ENUM
                             : c.type == icl::ColumnType::f64 ? H5T_FLOAT
                                                              : H5T_INTEGER;
    EXPECT_EQ(H5Tget_class(member.id()), want) << name;
    if (want == H5T_ENUM) {
      const std::vector<std::string> names = member.names();
      ASSERT_FALSE(names.empty()) << name;
      EXPECT_EQ(names.front(), "(none)") << name;  // "" in a row: not yet computed
      text_bytes += member.size();
      if (name == "spectrum") {
        EXPECT_EQ(names, (std::vector<std::string>{"(none)", kTexts.spectrum[0], kTexts.spectrum[1]}));
      }
      if (name == "status") {
        EXPECT_EQ(names[1], "converged");
      }
      continue;
    }
    EXPECT_EQ(member.size(), c.size) << name;
    other_bytes += c.size;
    if (want == H5T_INTEGER) {
      const bool is_signed = c.type == icl::ColumnType::i32 || c.type == icl::ColumnType::i64;
      EXPECT_EQ(H5Tget_sign(member.id()), is_signed ? H5T_SGN_2 : H5T_SGN_NONE) << name;
    }
  }
  EXPECT_EQ(text_bytes, 7u * 2u);  // a u16 number per text column: status, spectrum, shift, model, optimizer, lr_schedule, init
  EXPECT_EQ(H5Tget_size(type), text_bytes + other_bytes);  // packed: no padding, no unused bytes
  EXPECT_EQ(icl::kSpectrumChars, sizeof(ResultRow::spectrum) - 1);
  EXPECT_EQ(icl::kShiftChars, sizeof(ResultRow::shift) - 1);
  EXPECT_EQ(icl::ResultsFile::open(file, false).read_attributes().schema_version, icl::kSchemaVersion);
}

// A row whose text is none of the file's values is a program error, refused before anything is
// written.
TEST_F(ResultsFile, ARowWithATextOutsideTheFilesValuesIsRefused) {
  const std::string file = path("texts.h5");
  auto results = icl::ResultsFile::create(file, 2, 1, 1, 0, make_attributes(10), kTexts);
  ResultRow row = make_row(0);
  std::memset(row.shift, 0, sizeof row.shift);
  copy_text(row.shift, "covariate_scale(3)");
  EXPECT_THROW(results.write_rows(0, std::span<const ResultRow>(&row, 1)), std::logic_error);
  EXPECT_EQ(results.count_done(), 0u);
}

// The blank row: NaN in every real column, zero elsewhere, status `failed`.
TEST(ResultRowSchema, BlankRowIsNaNZeroAndFailed) {
  const ResultRow row = icl::blank_row();
  const auto* bytes = reinterpret_cast<const unsigned char*>(&row);
  for (const icl::Column& c : icl::kColumns) {
    if (c.type == icl::ColumnType::f64) {
      double v = 0.0;
      std::memcpy(&v, bytes + c.offset, sizeof v);
      EXPECT_TRUE(std::isnan(v)) << c.name;
    } else if (c.name != "status") {
      EXPECT_TRUE(std::all_of(bytes + c.offset, bytes + c.offset + c.size, [](unsigned char b) { return b == 0; }))
          << c.name;
    }
  }
  EXPECT_STREQ(row.status, "failed");
}

// The column list is pinned to its schema version: a change to the columns must bump
// kSchemaVersion (readers and resumes compare the version, not the list), then update the pin.
TEST(ResultRowSchema, ColumnListIsPinnedToItsVersion) {
  const std::string signature = icl::schema_signature();
  const std::uint64_t digest = icl::checksum(reinterpret_cast<const std::byte*>(signature.data()), signature.size());
  EXPECT_EQ(icl::kSchemaVersion, 10) << "update the pin below with the new version's digest";
  EXPECT_EQ(digest, 0x851bf7c2eb16dd2f) << "the columns changed: bump kSchemaVersion in result_row.hpp, then pin 0x" << std::hex
                            << digest << "\n"
                            << signature;
}
