#include "store/results_file.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "store/hdf5.hpp"
#include "training_status.hpp"

namespace icl {
namespace {

constexpr hsize_t kRowsPerChunk = ResultsFile::kRowsPerChunk;
constexpr unsigned kDeflateLevel = 4;
constexpr hsize_t kRunsPerChunk = 64;

// Parallel arrays: the datasets under /trajectories and the StoredSample member each one holds.
constexpr std::array<const char*, 4> kTrajectoryNames = {"time", "loss", "rel_err", "excess_loss"};
constexpr std::array<double StoredSample::*, 4> kTrajectoryMembers = {
    &StoredSample::time, &StoredSample::loss, &StoredSample::rel_err, &StoredSample::excess_loss};

hid_t member_type(const Column& column) {
  switch (column.type) {
    case ColumnType::u8: return h5::native<std::uint8_t>();
    case ColumnType::i32: return h5::native<std::int32_t>();
    case ColumnType::i64: return h5::native<std::int64_t>();
    case ColumnType::u64: return h5::native<std::uint64_t>();
    case ColumnType::f64: return h5::native<double>();
    case ColumnType::text: break;
  }
  return H5I_INVALID_HID;
}

}  // namespace

// HDF5 refuses an enumeration's empty name: number 0, "" in a row (not yet computed), is stored under
// this name, which no status, spectrum, shift or model can be.
constexpr std::string_view kNoText = "(none)";

// One text column as the file stores it: the texts by number (0 is ""), and the numbers by text.
// In memory a row keeps the text; on its way to the file the number takes the field's first
// bytes (2, or 4 beyond 65,535 values), where the row type (row_type) reads it.
struct TextCodes {
  Column column;
  std::vector<std::string> values;
  std::unordered_map<std::string, std::uint32_t> codes;
  std::size_t bytes = 2;

  TextCodes(const Column& c, std::vector<std::string> by_code) : column(c), values(std::move(by_code)) {
    bytes = values.size() > 65536 ? 4 : 2;
    for (std::size_t i = 0; i < values.size(); ++i) codes.emplace(values[i], static_cast<std::uint32_t>(i));
  }
  void encode(ResultRow& row) const {
    char* field = reinterpret_cast<char*>(&row) + column.offset;
    const std::string text(field, ::strnlen(field, column.size));
    const auto found = codes.find(text);
    if (found == codes.end())
      throw std::logic_error("a row's " + std::string(column.name) + " \"" + text + "\" is none of the file's values");
    std::memset(field, 0, column.size);
    std::memcpy(field, &found->second, bytes);  // little-endian: the low bytes first
  }
  void decode(ResultRow& row) const {
    char* field = reinterpret_cast<char*>(&row) + column.offset;
    std::uint32_t code = 0;
    std::memcpy(&code, field, bytes);
    std::memset(field, 0, column.size);
    if (code >= values.size() || values[code].size() > column.size)
      throw std::runtime_error("a row's " + std::string(column.name) + " holds " + std::to_string(code) +
                               ", which names none of the file's values");
    std::memcpy(field, values[code].data(), values[code].size());  // NUL-padded, as set_text leaves it
  }
};

namespace {

// The texts a text column can hold, by number: "" first, then the statuses or the grid's values.
std::vector<std::string> values_by_code(std::string_view column, const TextValues& texts) {
  std::vector<std::string> values{""};
  if (column == "status") {
    for (const TrainingStatus s : kTrainingStatuses) values.emplace_back(to_string(s));
  } else {
    const std::vector<std::string>& grid = column == "spectrum"      ? texts.spectrum
                                           : column == "shift"       ? texts.shift
                                           : column == "model"       ? texts.model
                                           : column == "optimizer"   ? texts.optimizer
                                           : column == "lr_schedule" ? texts.lr_schedule
                                           : column == "init"        ? texts.init
                                                                     : throw std::logic_error("no values for the text column " +
                                                                                              std::string(column));
    values.insert(values.end(), grid.begin(), grid.end());
  }
  return values;
}

std::vector<TextCodes> text_codes(const TextValues& texts) {
  std::vector<TextCodes> all;
  for (const Column& column : kColumns)
    if (column.type == ColumnType::text) all.emplace_back(column, values_by_code(column.name, texts));
  return all;
}

// The texts of a file's enumerations; empty when its text columns are not enumerations (a file of
// schema version 7 or older: its attributes can still be read, its rows cannot).
std::vector<TextCodes> text_codes(const h5::Datatype& stored) {
  std::vector<TextCodes> all;
  for (const Column& column : kColumns) {
    if (column.type != ColumnType::text) continue;
    const h5::Datatype member = stored.member(std::string(column.name));
    if (!member.is_enumeration()) return {};
    std::vector<std::string> names = member.names();
    if (names.empty() || names.front() != kNoText)
      h5::fail("read the values of the column \"" + std::string(column.name) + "\" of", stored.description(),
               "its number 0 is not \"" + std::string(kNoText) + "\"");
    names.front().clear();
    all.emplace_back(column, std::move(names));
  }
  return all;
}

// A text column's enumeration: its values by number (0 under kNoText), over `base` (by default the
// 16 or 32 bits a row's field holds).
h5::Datatype enumeration_of(const TextCodes& text, hid_t base = H5I_INVALID_HID) {
  if (base == H5I_INVALID_HID) base = text.bytes == 2 ? h5::native<std::uint16_t>() : h5::native<std::uint32_t>();
  h5::Datatype enumeration = h5::Datatype::enumeration(base);
  for (std::size_t i = 0; i < text.values.size(); ++i)
    enumeration.insert_name(i == 0 ? std::string(kNoText) : text.values[i], i);
  return enumeration;
}

// The row in memory: every column at its place in ResultRow, a text column as an enumeration of
// its values (the number in the field's first bytes). Packed, it is the type stored.
h5::Datatype row_type(const std::vector<TextCodes>& texts) {
  h5::Datatype type = h5::Datatype::compound(sizeof(ResultRow));
  std::size_t next_text = 0;
  for (const Column& column : kColumns) {
    const std::string name(column.name);
    if (column.type != ColumnType::text) {
      type.insert(name, column.offset, member_type(column));
      continue;
    }
    if (next_text >= texts.size()) continue;  // a file without enumerations: no text members
    type.insert(name, column.offset, enumeration_of(texts[next_text++]).id());
  }
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
  std::vector<TextCodes> texts;
  h5::Datatype row_type;
  h5::Dataset results;
  std::array<h5::Dataset, 4> trajectories;  // in kTrajectoryNames order
  std::optional<h5::Dataset> parameters;     // /parameters, where the sweep keeps weights
  std::optional<h5::Group> models;           // /models, a sampled run's final state each
};

ResultsFile ResultsFile::create(const std::string& path, std::uint64_t rows_total,
                                std::uint64_t runs, int points, std::uint64_t parameters,
                                const FileAttributes& attributes, const TextValues& text_values) {
  if (rows_total == 0 || runs == 0 || points <= 0)
    throw std::invalid_argument("ResultsFile::create(\"" + path +
                                "\"): rows_total, runs and points must be positive");
  h5::File file = h5::File::create(path, file_access());
  std::vector<TextCodes> texts = text_codes(text_values);
  h5::Datatype type = row_type(texts);

  h5::PropertyList rows_creation = h5::PropertyList::dataset_creation();
  rows_creation.set_chunk(std::array{std::min<hsize_t>(rows_total, kRowsPerChunk)});
  // Columns that are NaN or constant in a sweep (Monte-Carlo columns of a closed-form sweep, the
  // keys of a run's rows) shrink to almost nothing; shuffled, numbers compress too.
  rows_creation.set_shuffle_deflate(kDeflateLevel);
  ResultRow zero;
  std::memset(&zero, 0, sizeof zero);  // every text "" (0): not yet computed
  rows_creation.set_fill_value(type.id(), &zero);  // done = 0: not yet computed
  h5::Dataset results = file.create_dataset(
      "results", type.packed().id(), h5::Dataspace::simple(std::array<hsize_t, 1>{rows_total}),
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

  std::optional<h5::Dataset> weights;
  if (parameters > 0) {
    const auto width = static_cast<hsize_t>(parameters);
    // Chunks of about 1 MiB whatever d and L (HDF5 refuses chunks of 4 GiB and more).
    constexpr hsize_t kChunkValues = hsize_t{1} << 17;
    const hsize_t chunk_columns = std::min(width, kChunkValues);
    h5::PropertyList creation = h5::PropertyList::dataset_creation();
    creation.set_chunk(std::array{
        std::clamp<hsize_t>(kChunkValues / chunk_columns, 1, std::min<hsize_t>(runs, kRunsPerChunk)), chunk_columns});
    creation.set_fill_value(h5::native<double>(), &nan);  // NaN: not kept (yet)
    weights.emplace(file.create_dataset("parameters", h5::native<double>(),
                                        h5::Dataspace::simple(std::array<hsize_t, 2>{runs, width}), creation));
  }
  h5::Group models = file.create_group("models");
  ResultsFile created(std::make_unique<Handles>(
      std::move(file), std::move(texts), std::move(type), std::move(results),
      std::array{trajectory(0), trajectory(1), trajectory(2), trajectory(3)}, std::move(weights), std::move(models)));
  // The extent of /results is the authority on rows_total.
  FileAttributes stored = attributes;
  stored.rows_total = rows_total;
  created.write_attributes(stored);
  return created;
}

ResultsFile ResultsFile::open(const std::string& path, bool writable) {
  h5::File file = h5::File::open(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, file_access());
  h5::Dataset results = file.open_dataset("results");
  const h5::Group group = file.open_group("trajectories");
  const auto trajectory = [&](std::size_t i) { return group.open_dataset(kTrajectoryNames[i]); };
  std::optional<h5::Dataset> weights;
  if (file.has_link("parameters")) weights.emplace(file.open_dataset("parameters"));
  std::optional<h5::Group> models;
  if (file.has_link("models")) models.emplace(file.open_group("models"));
  std::vector<TextCodes> texts = text_codes(results.type());
  h5::Datatype type = row_type(texts);
  return ResultsFile(std::make_unique<Handles>(
      std::move(file), std::move(texts), std::move(type), std::move(results),
      std::array{trajectory(0), trajectory(1), trajectory(2), trajectory(3)}, std::move(weights), std::move(models)));
}

void ResultsFile::write_rows(std::uint64_t first_row, std::span<const ResultRow> rows) {
  std::vector<ResultRow> coded(rows.begin(), rows.end());
  for (ResultRow& row : coded)
    for (const TextCodes& text : h_->texts) text.encode(row);
  h_->results.write_block(std::array<hsize_t, 1>{first_row}, std::array<hsize_t, 1>{rows.size()},
                          h_->row_type.id(), coded.data());
}

void ResultsFile::write_trajectory(std::uint64_t train_id, std::span<const StoredSample> samples) {
  const hsize_t points = h_->trajectories[0].dims().at(1);
  if (samples.empty() || points == 0 || samples.size() % points != 0)
    h5::fail("write the trajectory of run " + std::to_string(train_id) + " to",
             h_->file.description(),
             std::to_string(samples.size()) + " samples given where the file holds " +
                 std::to_string(points) + " per run");
  const std::array<hsize_t, 2> start{train_id, 0};
  const std::array<hsize_t, 2> count{samples.size() / points, points};
  std::vector<double> column(samples.size());
  for (std::size_t i = 0; i < kTrajectoryMembers.size(); ++i) {
    std::transform(samples.begin(), samples.end(), column.begin(),
                   [member = kTrajectoryMembers[i]](const StoredSample& s) { return s.*member; });
    h_->trajectories[i].write_block(start, count, h5::native<double>(), column.data());
  }
}

std::uint64_t ResultsFile::parameters_per_run() const {
  return h_->parameters ? h_->parameters->dims().at(1) : 0;
}

void ResultsFile::write_parameters(std::uint64_t train_id, std::span<const double> values) {
  const auto width = static_cast<hsize_t>(parameters_per_run());
  if (width == 0 ? !values.empty() : values.empty() || values.size() % width != 0)
    h5::fail("write the parameters of run " + std::to_string(train_id) + " to", h_->file.description(),
             std::to_string(values.size()) + " values given where the file holds " + std::to_string(width) + " per run");
  if (width == 0) return;
  h_->parameters->write_block(std::array<hsize_t, 2>{train_id, 0}, std::array<hsize_t, 2>{values.size() / width, width},
                              h5::native<double>(), values.data());
}

std::vector<double> ResultsFile::read_parameters(std::uint64_t train_id) const {
  const auto width = static_cast<hsize_t>(parameters_per_run());
  std::vector<double> values(width);
  if (width > 0)
    h_->parameters->read_block(std::array<hsize_t, 2>{train_id, 0}, std::array<hsize_t, 2>{1, width},
                               h5::native<double>(), values.data());
  return values;
}

void ResultsFile::write_model_state(std::uint64_t train_id, std::string_view state) {
  const std::string name = std::to_string(train_id);
  if (!h_->models) {
    if (state.empty()) return;
    h5::fail("write the model of run " + name + " to", h_->file.description(), "it has no /models group");
  }
  if (h_->models->has_link(name)) h_->models->remove_link(name);  // written again: a rebuild from the journal
  if (state.empty()) return;
  const std::array<hsize_t, 1> size{state.size()};
  h_->models->create_dataset(name, h5::native<std::uint8_t>(), h5::Dataspace::simple(size), h5::PropertyList::dataset_creation())
      .write_block(std::array<hsize_t, 1>{0}, size, h5::native<std::uint8_t>(), state.data());
}

std::string ResultsFile::read_model_state(std::uint64_t train_id) const {
  const std::string name = std::to_string(train_id);
  if (!h_->models || !h_->models->has_link(name)) return {};
  const h5::Dataset dataset = h_->models->open_dataset(name);
  const std::vector<hsize_t> dims = dataset.dims();
  std::string state(dims.empty() ? 0 : dims[0], '\0');
  if (!state.empty())
    dataset.read_block(std::array<hsize_t, 1>{0}, std::array<hsize_t, 1>{state.size()}, h5::native<std::uint8_t>(), state.data());
  return state;
}

void ResultsFile::write_attributes(const FileAttributes& attributes) {
  h5::File& file = h_->file;
#define ICL_WRITE_ATTRIBUTE(type, name, initial, meaning) file.set_attribute(#name, attributes.name);
  ICL_FILE_ATTRIBUTES(ICL_WRITE_ATTRIBUTE)
#undef ICL_WRITE_ATTRIBUTE
}

FileAttributes ResultsFile::read_attributes() const {
  const h5::File& file = h_->file;
  FileAttributes attributes;
  const auto read = [&file]<class T>(T& value, const char* name) {
    if constexpr (std::is_same_v<T, std::string>)
      value = file.string_attribute(name);
    else
      value = file.attribute<T>(name);
  };
#define ICL_READ_ATTRIBUTE(type, name, initial, meaning) read(attributes.name, #name);
  ICL_FILE_ATTRIBUTES(ICL_READ_ATTRIBUTE)
#undef ICL_READ_ATTRIBUTE
  return attributes;
}

std::vector<ResultRow> ResultsFile::read_rows(std::uint64_t first_row, std::uint64_t count) const {
  if (h_->texts.empty())
    h5::fail("read the rows of", h_->file.description(), "its text columns are not enumerations (schema version 7 or older)");
  std::vector<ResultRow> rows(count);
  std::memset(rows.data(), 0, count * sizeof(ResultRow));  // padding too: rows are compared as bytes
  h_->results.read_block(std::array<hsize_t, 1>{first_row}, std::array<hsize_t, 1>{count},
                         h_->row_type.id(), rows.data());
  for (ResultRow& row : rows)
    for (const TextCodes& text : h_->texts) text.decode(row);
  return rows;
}

std::vector<StoredSample> ResultsFile::read_trajectory(std::uint64_t train_id) const {
  const hsize_t points = h_->trajectories[0].dims().at(1);
  std::vector<StoredSample> samples(points);
  std::vector<double> column(points);
  for (std::size_t i = 0; i < kTrajectoryMembers.size(); ++i) {
    h_->trajectories[i].read_block(std::array<hsize_t, 2>{train_id, 0}, std::array<hsize_t, 2>{1, points},
                                   h5::native<double>(), column.data());
    for (hsize_t k = 0; k < points; ++k) samples[k].*kTrajectoryMembers[i] = column[k];
  }
  return samples;
}

std::uint64_t ResultsFile::count_done() const {
  // A compound type of `done` and the status's number: HDF5 reads only those fields of each row. A
  // row is done when done = 1 and it has a status (number 0 is a row never computed).
  struct DoneAndStatus {
    std::uint8_t done;
    std::uint32_t status;
  };
  h5::Datatype fields = h5::Datatype::compound(sizeof(DoneAndStatus));
  fields.insert("done", offsetof(DoneAndStatus, done), h5::native<std::uint8_t>());
  const TextCodes* status = nullptr;
  for (const TextCodes& text : h_->texts)
    if (text.column.name == "status") status = &text;
  if (status != nullptr)
    fields.insert("status", offsetof(DoneAndStatus, status), enumeration_of(*status, h5::native<std::uint32_t>()).id());
  const hsize_t rows = h_->results.dims().at(0);
  constexpr hsize_t kBlock = 1 << 20;
  std::vector<DoneAndStatus> read;
  std::uint64_t count = 0;
  for (hsize_t first = 0; first < rows; first += kBlock) {
    const hsize_t n = std::min(kBlock, rows - first);
    read.assign(n, DoneAndStatus{0, 1});  // a file without enumerations: every row has a status
    h_->results.read_block(std::array<hsize_t, 1>{first}, std::array<hsize_t, 1>{n}, fields.id(), read.data());
    for (const DoneAndStatus& r : read) count += r.done == 1 && r.status != 0;
  }
  return count;
}

void ResultsFile::flush() { h_->file.flush(); }

void ResultsFile::close() {
  for (auto& dataset : h_->trajectories) dataset.close();
  if (h_->parameters) h_->parameters->close();
  if (h_->models) h_->models->close();
  h_->results.close();
  h_->row_type.close();
  h_->file.close();
}

ResultsFile::ResultsFile(std::unique_ptr<Handles> handles) : h_(std::move(handles)) {}
ResultsFile::ResultsFile(ResultsFile&&) noexcept = default;
ResultsFile& ResultsFile::operator=(ResultsFile&&) noexcept = default;
ResultsFile::~ResultsFile() = default;

}  // namespace icl
