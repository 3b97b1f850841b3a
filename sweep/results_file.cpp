#include "results_file.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include "hdf5.hpp"

namespace icl {
namespace {

constexpr hsize_t kRowsPerChunk = 1024;
constexpr hsize_t kRunsPerChunk = 64;

// Parallel arrays: the datasets under /trajectories and the StoredSample member each one holds.
constexpr std::array<const char*, 4> kTrajectoryNames = {"time", "loss", "rel_err", "excess_loss"};
constexpr std::array<double StoredSample::*, 4> kTrajectoryMembers = {
    &StoredSample::time, &StoredSample::loss, &StoredSample::rel_err, &StoredSample::excess_loss};

template <class Member>
void insert_member(h5::Datatype& row, const char* name, std::size_t offset) {
  if constexpr (std::is_array_v<Member>) {
    static_assert(std::is_same_v<std::remove_extent_t<Member>, char>);
    // SPEC.md fixes the string columns as ASCII.
    row.insert(name, offset, h5::Datatype::fixed_string(std::extent_v<Member>, H5T_CSET_ASCII).id());
  } else {
    row.insert(name, offset, h5::native<Member>());
  }
}

// The same type serves in memory and in the file, so rows travel as raw bytes without conversion.
h5::Datatype row_type() {
  h5::Datatype type = h5::Datatype::compound(sizeof(ResultRow));
  // Stringizing the member keeps the column names identical to ResultRow's, which are SPEC's.
#define ICL_ROW_MEMBER(m) insert_member<decltype(ResultRow::m)>(type, #m, HOFFSET(ResultRow, m))
  ICL_ROW_MEMBER(row);
  ICL_ROW_MEMBER(train_id);
  ICL_ROW_MEMBER(done);
  ICL_ROW_MEMBER(status);
  ICL_ROW_MEMBER(d);
  ICL_ROW_MEMBER(n_train);
  ICL_ROW_MEMBER(m_test);
  ICL_ROW_MEMBER(spectrum);
  ICL_ROW_MEMBER(shift);
  ICL_ROW_MEMBER(sigma);
  ICL_ROW_MEMBER(init_seed);
  ICL_ROW_MEMBER(gf_time);
  ICL_ROW_MEMBER(gf_steps);
  ICL_ROW_MEMBER(loss_final);
  ICL_ROW_MEMBER(loss_min);
  ICL_ROW_MEMBER(rel_err);
  ICL_ROW_MEMBER(balance_drift);
  ICL_ROW_MEMBER(risk_lsa_theory);
  ICL_ROW_MEMBER(risk_lsa_limit);
  ICL_ROW_MEMBER(risk_lsa_mc);
  ICL_ROW_MEMBER(risk_lsa_mc_se);
  ICL_ROW_MEMBER(risk_ols_mc);
  ICL_ROW_MEMBER(risk_ols_mc_se);
  ICL_ROW_MEMBER(risk_ridge_mc);
  ICL_ROW_MEMBER(risk_ridge_mc_se);
  ICL_ROW_MEMBER(risk_gd_theory);
  ICL_ROW_MEMBER(risk_gd_mc);
  ICL_ROW_MEMBER(risk_avg_mc);
  ICL_ROW_MEMBER(risk_avg_mc_se);
  ICL_ROW_MEMBER(risk_knn_mc);
  ICL_ROW_MEMBER(risk_knn_mc_se);
  ICL_ROW_MEMBER(risk_zero);
  ICL_ROW_MEMBER(mc_prompts);
  ICL_ROW_MEMBER(seconds);
  ICL_ROW_MEMBER(rank);
#undef ICL_ROW_MEMBER
  return type;
}

// The v1.10 format keeps attributes too large for an object header (a long config, rewritten on
// resume) in dense storage; the 1.0 format would refuse them.
h5::PropertyList file_access() {
  h5::PropertyList access = h5::PropertyList::file_access();
  access.set_libver_bounds(H5F_LIBVER_V110, H5F_LIBVER_LATEST);
  return access;
}

}  // namespace

struct ResultsFile::Handles {
  h5::File file;
  h5::Datatype row_type;
  h5::Dataset results;
  std::array<h5::Dataset, 4> trajectories;  // in kTrajectoryNames order
};

ResultsFile ResultsFile::create(const std::string& path, std::uint64_t rows_total,
                                std::uint64_t runs, int points,
                                const FileAttributes& attributes) {
  if (rows_total == 0 || runs == 0 || points <= 0)
    throw std::invalid_argument("ResultsFile::create(\"" + path +
                                "\"): rows_total, runs and points must be positive");
  h5::File file = h5::File::create(path, file_access());
  h5::Datatype type = row_type();

  h5::PropertyList rows_creation = h5::PropertyList::dataset_creation();
  rows_creation.set_chunk(std::array{std::min<hsize_t>(rows_total, kRowsPerChunk)});
  ResultRow zero;
  std::memset(&zero, 0, sizeof zero);  // padding too: HDF5 copies the fill value bytewise
  rows_creation.set_fill_value(type.id(), &zero);
  h5::Dataset results = file.create_dataset(
      "results", type.id(), h5::Dataspace::simple(std::array<hsize_t, 1>{rows_total}),
      rows_creation);

  h5::Group group = file.create_group("trajectories");
  std::vector<std::uint64_t> ids(runs);
  std::iota(ids.begin(), ids.end(), std::uint64_t{0});
  const std::array<hsize_t, 1> runs_dims{runs};
  group
      .create_dataset("train_id", h5::native<std::uint64_t>(), h5::Dataspace::simple(runs_dims),
                      h5::PropertyList::dataset_creation())
      .write_block(std::array<hsize_t, 1>{0}, runs_dims, h5::native<std::uint64_t>(), ids.data());

  const auto columns = static_cast<hsize_t>(points);
  h5::PropertyList trajectory_creation = h5::PropertyList::dataset_creation();
  trajectory_creation.set_chunk(std::array{std::min<hsize_t>(runs, kRunsPerChunk), columns});
  // NaN marks runs whose trajectory was never written.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  trajectory_creation.set_fill_value(h5::native<double>(), &nan);
  const h5::Dataspace trajectory_space = h5::Dataspace::simple(std::array<hsize_t, 2>{runs, columns});
  const auto trajectory = [&](std::size_t i) {
    return group.create_dataset(kTrajectoryNames[i], h5::native<double>(), trajectory_space,
                                trajectory_creation);
  };

  ResultsFile created(std::make_unique<Handles>(
      std::move(file), std::move(type), std::move(results),
      std::array{trajectory(0), trajectory(1), trajectory(2), trajectory(3)}));
  // The extent of /results is the authority on rows_total.
  FileAttributes stored = attributes;
  stored.rows_total = rows_total;
  created.write_attributes(stored);
  return created;
}

ResultsFile ResultsFile::open(const std::string& path) {
  h5::File file = h5::File::open(path, H5F_ACC_RDWR, file_access());
  h5::Dataset results = file.open_dataset("results");
  const h5::Group group = file.open_group("trajectories");
  const auto trajectory = [&](std::size_t i) { return group.open_dataset(kTrajectoryNames[i]); };
  return ResultsFile(std::make_unique<Handles>(
      std::move(file), row_type(), std::move(results),
      std::array{trajectory(0), trajectory(1), trajectory(2), trajectory(3)}));
}

void ResultsFile::write_rows(std::uint64_t first_row, std::span<const ResultRow> rows) {
  h_->results.write_block(std::array<hsize_t, 1>{first_row}, std::array<hsize_t, 1>{rows.size()},
                          h_->row_type.id(), rows.data());
}

void ResultsFile::write_trajectory(std::uint64_t train_id, std::span<const StoredSample> samples) {
  const hsize_t points = h_->trajectories[0].dims().at(1);
  if (samples.size() != points)
    h5::fail("write the trajectory of run " + std::to_string(train_id) + " to",
             h_->file.description(),
             std::to_string(samples.size()) + " samples given where the file holds " +
                 std::to_string(points));
  const std::array<hsize_t, 2> start{train_id, 0};
  const std::array<hsize_t, 2> count{1, points};
  std::vector<double> column(samples.size());
  for (std::size_t i = 0; i < kTrajectoryMembers.size(); ++i) {
    std::transform(samples.begin(), samples.end(), column.begin(),
                   [member = kTrajectoryMembers[i]](const StoredSample& s) { return s.*member; });
    h_->trajectories[i].write_block(start, count, h5::native<double>(), column.data());
  }
}

void ResultsFile::write_attributes(const FileAttributes& attributes) {
  h5::File& file = h_->file;
  file.set_attribute("config", attributes.config);
  file.set_attribute("tool_version", attributes.tool_version);
  file.set_attribute("git_commit", attributes.git_commit);
  file.set_attribute("created_utc", attributes.created_utc);
  file.set_attribute("updated_utc", attributes.updated_utc);
  file.set_attribute("mpi_ranks", attributes.mpi_ranks);
  file.set_attribute("rows_total", attributes.rows_total);
  file.set_attribute("rows_done", attributes.rows_done);
  file.set_attribute("completed", attributes.completed);
}

FileAttributes ResultsFile::read_attributes() const {
  const h5::File& file = h_->file;
  FileAttributes attributes;
  attributes.config = file.string_attribute("config");
  attributes.tool_version = file.string_attribute("tool_version");
  attributes.git_commit = file.string_attribute("git_commit");
  attributes.created_utc = file.string_attribute("created_utc");
  attributes.updated_utc = file.string_attribute("updated_utc");
  attributes.mpi_ranks = file.attribute<std::int32_t>("mpi_ranks");
  attributes.rows_total = file.attribute<std::uint64_t>("rows_total");
  attributes.rows_done = file.attribute<std::uint64_t>("rows_done");
  attributes.completed = file.attribute<std::uint8_t>("completed");
  return attributes;
}

std::vector<ResultRow> ResultsFile::read_rows(std::uint64_t first_row, std::uint64_t count) const {
  std::vector<ResultRow> rows(count);
  h_->results.read_block(std::array<hsize_t, 1>{first_row}, std::array<hsize_t, 1>{count},
                         h_->row_type.id(), rows.data());
  return rows;
}

void ResultsFile::flush() { h_->file.flush(); }

ResultsFile::ResultsFile(std::unique_ptr<Handles> handles) : h_(std::move(handles)) {}
ResultsFile::ResultsFile(ResultsFile&&) noexcept = default;
ResultsFile& ResultsFile::operator=(ResultsFile&&) noexcept = default;
ResultsFile::~ResultsFile() = default;

}  // namespace icl
