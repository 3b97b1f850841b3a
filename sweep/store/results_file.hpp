#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/result_row.hpp"

namespace icl {

// Root attributes of a results file (docs/interface.md, "The results file").
// Every root attribute, declared once: (C++ type, name, initial value, meaning). This list makes
// the struct and its writing and reading (results_file.cpp).
#define ICL_FILE_ATTRIBUTES(X)                                                                      \
  X(std::string, config, {}, "the effective config as INI text")                                    \
  X(std::string, inputs, {}, "digests of the files the config reads (\"\" if none)")                 \
  X(std::int32_t, schema_version, kSchemaVersion, "the layout of this file")                       \
  X(std::string, program, {}, "the build that computed the rows: version, commit, source digest")   \
  X(std::string, tool_version, {}, "the program's version")                                         \
  X(std::string, git_commit, {}, "the commit it was built from")                                    \
  X(std::string, created_utc, {}, "when the sweep started")                                         \
  X(std::string, updated_utc, {}, "when the file was last written")                                 \
  X(std::int32_t, mpi_ranks, 1, "ranks of the last run")                                            \
  X(std::uint64_t, rows_total, 0, "rows of the grid")                                               \
  X(std::uint64_t, rows_done, 0, "rows written")                                                    \
  X(std::uint8_t, completed, 0, "1 once every row is written and checked")

struct FileAttributes {
#define ICL_DECLARE_ATTRIBUTE(type, name, initial, meaning) type name = initial;
  ICL_FILE_ATTRIBUTES(ICL_DECLARE_ATTRIBUTE)
#undef ICL_DECLARE_ATTRIBUTE
};

// The texts the text columns of a file's rows can hold (its grid's spectra, shifts and models;
// the statuses are fixed). The file stores each text once, as a name of an HDF5 enumeration, and
// a row its number: 0 is "" (a row not yet computed), 1, 2, ... the values in this order.
struct TextValues {
  std::vector<std::string> spectrum, shift, model, optimizer, lr_schedule, init;
};

// The results file, written by rank 0 only. All HDF5 calls of the program live behind this
// class and the RAII layer in hdf5.hpp.
//   /results                      compound of the columns[rows_total], packed, text columns as
//                                 enumerations (TextValues), chunked and compressed (shuffle,
//                                 deflate), written in place
//   /trajectories/train_id        u64[runs]
//   /trajectories/{time,loss,rel_err,excess_loss}   f64[runs][points]
//   /parameters                   f64[runs][parameters] (trained weights; only where a model keeps them)
//   /models/<train_id>            u8[bytes] per sampled run: its final training state (task/stored_model.hpp)
class ResultsFile {
 public:
  // Rows per chunk of /results: the unit HDF5 reads and inflates, whatever the rows asked.
  static constexpr std::uint64_t kRowsPerChunk = 1024;
  // Creates (truncating) the file with datasets of their final size, rows zero-filled,
  // /parameters NaN-filled (none when `parameters` is 0).
  // Rows whose texts are not among `texts` are refused (std::logic_error) when written.
  static ResultsFile create(const std::string& path, std::uint64_t rows_total, std::uint64_t runs,
                            int points, std::uint64_t parameters, const FileAttributes& attributes,
                            const TextValues& texts);
  // Opens an existing file, for writing or only for reading.
  static ResultsFile open(const std::string& path, bool writable = true);

  void write_rows(std::uint64_t first_row, std::span<const ResultRow> rows);
  // The trajectories of consecutive runs from `train_id` on, the file's points per run each.
  void write_trajectory(std::uint64_t train_id, std::span<const StoredSample> samples);
  // The trained weights of consecutive runs from `train_id` on, parameters_per_run() each.
  void write_parameters(std::uint64_t train_id, std::span<const double> values);
  // Values per run of /parameters; 0 without the dataset.
  std::uint64_t parameters_per_run() const;
  void write_attributes(const FileAttributes& attributes);
  FileAttributes read_attributes() const;
  std::vector<ResultRow> read_rows(std::uint64_t first_row, std::uint64_t count) const;
  // One run's trajectory, the file's points per run.
  std::vector<StoredSample> read_trajectory(std::uint64_t train_id) const;
  // One run's trained weights, parameters_per_run() values (none without the dataset).
  std::vector<double> read_parameters(std::uint64_t train_id) const;
  // A run's model state (/models/<train_id>), replacing one written before; an empty state
  // writes nothing (and removes one written before).
  void write_model_state(std::uint64_t train_id, std::string_view state);
  // "" when the file keeps none for the run.
  std::string read_model_state(std::uint64_t train_id) const;
  // How many rows have done = 1, reading that column alone.
  std::uint64_t count_done() const;
  void flush();
  // Closes every object and then the file, so that HDF5's final write-back happens here and a
  // failure is an H5Error; the destructor only reports one.
  void close();

  ResultsFile(ResultsFile&&) noexcept;
  ResultsFile& operator=(ResultsFile&&) noexcept;
  ~ResultsFile();

 private:
  struct Handles;
  explicit ResultsFile(std::unique_ptr<Handles> handles);
  std::unique_ptr<Handles> h_;
};

}  // namespace icl
