#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "predictors.hpp"

namespace icl {

// The version of the results file's layout (the columns below, /trajectories and the root
// attributes) and of what its rows mean, stored as the root attribute `schema_version`; readers
// check it. Bump it with every change to the list below or to how a row's numbers are drawn, and
// say why in kSchemaChanges: --extend and --merge refuse a file of another version with it.
inline constexpr int kSchemaVersion = 10;

struct SchemaChange {
  int version;
  std::string_view change;
};
inline constexpr std::array<SchemaChange, 5> kSchemaChanges{{
    {6, "test prompts are drawn by test law (d, M, shift, and the training spectrum only where the shift's test law "
        "is made from the training covariance), no longer by training run, so that rows with the same test law share "
        "them (docs/interface.md, \"Determinism\"); risk_model_theory is the whole LSA layer's risk, with "
        "risk_model_theory_se; /parameters keeps lsa and linear_transformer weights, outside_sparse their "
        "distance from preconditioned GD's form"},
    {7, "risk_model_theory of an LSA layer is paired with A* on the same prompts (docs/theory.md §12), and "
        "risk_gd_steps_mc with its standard error is the L-step preconditioned GD reference of linear_transformer(L) "
        "runs (§13)"},
    {8, "the text columns (status, spectrum, shift, model) are HDF5 enumerations, each text stored once and a row "
        "its number (0: \"\", a row not yet computed); /results is packed and compressed (shuffle, deflate)"},
    {9, "every run keeps its model: the flow's A in /parameters, a sampled model's final training state in "
        "/models/<train_id>, which --extend evaluates on new conditions instead of training again; train.optimizer, "
        "train.batch, train.lr_schedule, train.init, grid.train_noise (run axes) and eval.knn_k (a condition axis) "
        "are lists with their columns, and every row holds the sweep's seed"},
    {10, "the column device says where a run's model trained (-1: the CPU, k: cuda:k of its rank's node; "
         "train.device, train.precision)"},
}};
// "since version 5: 6: test prompts ..." for a file of `version` older than kSchemaVersion, else "".
std::string schema_changes_since(int version);

// A fixed-length, NUL-padded ASCII string column of N - 1 characters at most.
template <std::size_t N>
using Text = char[N];

// Every column of /results, declared once: (name, C++ type, meaning), the predictors' columns
// coming from the core's list of them (src/predictors.hpp, kPredictorColumns) between the two
// lists below.
// They make the row struct, the HDF5 compound type, the blank row, `icl-sweep
// --describe-columns` and the column table of docs/interface.md. Adding a column is one line
// here plus the code that fills it; a predictor's are its lines of kPredictorColumns.
#define ICL_LEADING_COLUMNS(X)                                                                        \
  X(row, std::uint64_t, "row index in /results")                                                    \
  X(train_id, std::uint64_t, "index of the training run (a row of /trajectories)")                   \
  X(seed, std::uint64_t, "sweep.seed, the root of every random stream: tells apart rows of sweeps run with other seeds") \
  X(done, std::uint8_t, "1 once the row is written; 0 rows are still to be computed")                \
  X(status, Text<16>, "converged, max_time, max_steps, trained, diverged or failed (Training status)") \
  X(d, std::int32_t, "dimension of the covariates")                                                  \
  X(n_train, std::int32_t, "training prompt length N")                                              \
  X(m_test, std::int32_t, "test prompt length M")                                                   \
  X(spectrum, Text<128>, "training covariance model as written in the config, e.g. power(1)")       \
  X(shift, Text<96>, "test condition, one parameter each, e.g. covariate_scale(2), or shifts composed with +") \
  X(ridge_lambda, double, "lambda of the ridge baseline (eval.ridge_lambda, a condition axis)")      \
  X(knn_k, std::int32_t, "k of the nearest-neighbour baseline (eval.knn_k, a condition axis; 0: none)") \
  X(sigma, double, "initialisation scale sigma")                                                     \
  X(train_noise, double, "label noise (sd) of the training prompts (grid.train_noise; 0: noiseless)")   \
  X(init_seed, std::int32_t, "which initial direction Theta")                                        \
  X(model, Text<48>, "the model trained, as written in grid.model, e.g. gpt2(3, 2, 64)")              \
  X(lr, double, "train.lr of the run (sampled models; flow ignores it)")                              \
  X(steps, std::int64_t, "train.steps of the run (sampled models; flow ignores it)")                  \
  X(optimizer, Text<16>, "train.optimizer of the run (sampled models; flow ignores it)")              \
  X(batch, std::int32_t, "train.batch of the run (sampled models; flow ignores it)")                  \
  X(lr_schedule, Text<16>, "train.lr_schedule of the run (sampled models; flow ignores it)")          \
  X(init, Text<32>, "train.init of the run (sampled models; flow ignores it)")                        \
  X(gf_time, double, "flow: gradient-flow time reached")                                             \
  X(gf_steps, std::int64_t, "flow: integrator steps taken")                                          \
  X(train_steps, std::int64_t, "sampled models: optimizer steps taken")                              \
  X(train_loss_final, double, "sampled models: training loss, mean over the last steps")             \
  X(train_seconds, double, "wall time of the run's training")                                        \
  X(loss_final, double, "population loss of the trained A (flow) or A_eff (one LSA layer)")           \
  X(loss_min, double, "the optimal population loss L*")                                              \
  X(rel_err, double, "||A - A*||_F / ||A*||_F of the trained A or A_eff")                            \
  X(offblock_norm, double, "one LSA layer: norm of the entries the reduced model keeps at zero")      \
  X(outside_sparse, double, "lsa, linear_transformer(L): the largest share over layers of a layer's squared weight norm outside Ahn et al.'s sparse (preconditioned GD) form") \
  X(balance_drift, double, "flow: absolute change of u^2 - ||U||_F^2 over training (0 exactly)")

#define ICL_TRAILING_COLUMNS(X)                                                                      \
  X(mc_prompts, std::int32_t, "Monte-Carlo test prompts drawn (eval.mc_prompts, fewer with a target)") \
  X(seconds, double, "wall time spent on the row (training shared over the run's rows, a Monte-Carlo pass over the rows it evaluated)")                   \
  X(finished_unix, double, "when rank 0 recorded the row: seconds since 1970-01-01 UTC")            \
  X(rank, std::int32_t, "which MPI rank computed it")                                                   \
  X(device, std::int32_t, "the device the row's model trained and was evaluated on: k, the GPU cuda:k of its rank's node; -1, the CPU (flow runs, train.device = cpu); a model --extend took from OLD trained where OLD's row says")

// One row of /results, laid out exactly as the HDF5 compound type; the same bytes travel
// between ranks and into the journal.
struct ResultRow {
#define ICL_DECLARE_COLUMN(name, type, meaning) type name;
  ICL_LEADING_COLUMNS(ICL_DECLARE_COLUMN)
  // The predictors' columns, in src/predictors.hpp's order: risk_column(row, "risk_ols_mc").
  double risk[kPredictorColumnCount];
  ICL_TRAILING_COLUMNS(ICL_DECLARE_COLUMN)
#undef ICL_DECLARE_COLUMN
};

enum class ColumnType { u8, i32, i64, u64, f64, text };

// One column's description, derived from the list above.
struct Column {
  std::string_view name;
  ColumnType type;
  std::size_t offset;
  std::size_t size;  // bytes; for text, the characters plus the NUL
  std::string_view meaning;
};

template <class T>
constexpr ColumnType column_type() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return ColumnType::u8;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ColumnType::i32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ColumnType::i64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return ColumnType::u64;
  else if constexpr (std::is_same_v<T, double>) return ColumnType::f64;
  else {
    static_assert(std::is_array_v<T> && std::is_same_v<std::remove_extent_t<T>, char>,
                  "a column is an integer, a double or a Text<N>");
    return ColumnType::text;
  }
}

#define ICL_DESCRIBE_COLUMN(name, type, meaning) \
  Column{#name, column_type<type>(), offsetof(ResultRow, name), sizeof(type), meaning},
inline constexpr auto kLeadingColumns = std::to_array<Column>({ICL_LEADING_COLUMNS(ICL_DESCRIBE_COLUMN)});
inline constexpr auto kTrailingColumns = std::to_array<Column>({ICL_TRAILING_COLUMNS(ICL_DESCRIBE_COLUMN)});
#undef ICL_DESCRIBE_COLUMN

// Every column in row order: the leading ones, the predictors', the trailing ones.
inline constexpr auto kColumns = [] {
  std::array<Column, kLeadingColumns.size() + kPredictorColumnCount + kTrailingColumns.size()> all{};
  std::size_t i = 0;
  for (const Column& c : kLeadingColumns) all[i++] = c;
  std::size_t offset = offsetof(ResultRow, risk);
  for (const PredictorColumn& c : kPredictorColumns) {
    all[i++] = Column{c.name, ColumnType::f64, offset, sizeof(double), c.meaning};
    offset += sizeof(double);
  }
  for (const Column& c : kTrailingColumns) all[i++] = c;
  return all;
}();

// The index of a predictor's column among row.risk, by its name; throws std::out_of_range for a
// name that is none of them.
inline std::size_t risk_index(std::string_view name) {
  const std::size_t i = predictor_column(name);
  if (i == kPredictorColumnCount) throw std::out_of_range("no predictor column " + std::string(name));
  return i;
}
inline double& risk_column(ResultRow& row, std::string_view name) { return row.risk[risk_index(name)]; }
inline double risk_column(const ResultRow& row, std::string_view name) { return row.risk[risk_index(name)]; }

// The longest text a string column holds, from the struct itself.
inline constexpr std::size_t kSpectrumChars = std::extent_v<decltype(ResultRow::spectrum)> - 1;
inline constexpr std::size_t kShiftChars = std::extent_v<decltype(ResultRow::shift)> - 1;
inline constexpr std::size_t kModelChars = std::extent_v<decltype(ResultRow::model)> - 1;
inline constexpr std::size_t kInitChars = std::extent_v<decltype(ResultRow::init)> - 1;

// "u64", "f64", "str[15]": a column's type as the docs and --describe-columns write it.
std::string type_name(const Column& column);

// A row before its run is computed: zero integers, empty strings, NaN reals, status `failed`.
// Every field a run does not fill keeps these values.
ResultRow blank_row();

// Copies `text` into a string column, truncated to its capacity and NUL-padded.
template <std::size_t N>
void set_text(Text<N>& field, std::string_view text) {
  std::size_t i = 0;
  for (; i < N - 1 && i < text.size(); ++i) field[i] = text[i];
  for (; i < N; ++i) field[i] = '\0';
}

// The column list as text ("name type" per line): compared when a journal is resumed, so that
// rows written by another layout are never read back as this one.
std::string schema_signature();

// One trajectory sample as stored under /trajectories.
struct StoredSample {
  double time, loss, rel_err, excess_loss;
};

}  // namespace icl
