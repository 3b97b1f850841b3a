#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/result_row.hpp"

namespace icl {

// Root attributes of a results file (docs/interface.md, "The results file").
struct FileAttributes {
  std::string config;  // the effective config as INI text
  std::string inputs;  // digests of the files the config reads ("" if none)
  std::int32_t schema_version = kSchemaVersion;
  std::string program;  // the build that computed the rows: version, commit, digest of the sources
  std::string tool_version, git_commit, created_utc, updated_utc;
  std::int32_t mpi_ranks = 1;
  std::uint64_t rows_total = 0, rows_done = 0;
  std::uint8_t completed = 0;
};

// The results file, written by rank 0 only. All HDF5 calls of the program live behind this
// class and the RAII layer in hdf5.hpp.
//   /results                      compound ResultRow[rows_total], chunked, written in place
//   /trajectories/train_id        u64[runs]
//   /trajectories/{time,loss,rel_err,excess_loss}   f64[runs][points]
class ResultsFile {
 public:
  // Creates (truncating) the file with datasets of their final size, rows zero-filled.
  static ResultsFile create(const std::string& path, std::uint64_t rows_total, std::uint64_t runs,
                            int points, const FileAttributes& attributes);
  // Opens an existing file, for writing or only for reading.
  static ResultsFile open(const std::string& path, bool writable = true);

  void write_rows(std::uint64_t first_row, std::span<const ResultRow> rows);
  // The trajectories of consecutive runs from `train_id` on, the file's points per run each.
  void write_trajectory(std::uint64_t train_id, std::span<const StoredSample> samples);
  void write_attributes(const FileAttributes& attributes);
  FileAttributes read_attributes() const;
  std::vector<ResultRow> read_rows(std::uint64_t first_row, std::uint64_t count) const;
  // One run's trajectory, the file's points per run.
  std::vector<StoredSample> read_trajectory(std::uint64_t train_id) const;
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
