// pack/unpack (task/task_result.hpp): the kResult payload round-trips bitwise, and a payload of the wrong
// size is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "task/task_result.hpp"

namespace {

using icl::ResultRow;
using icl::StoredSample;
using icl::TaskResult;


// Zeroed first (padding included) so that rows compare bytewise.
ResultRow make_row(std::uint64_t r) {
  ResultRow row;
  std::memset(&row, 0, sizeof row);
  row.row = r;
  row.train_id = 7;
  row.done = 1;
  icl::set_text(row.status, "converged");
  row.d = 4;
  row.n_train = 16;
  row.m_test = 32 + static_cast<std::int32_t>(r);
  icl::set_text(row.spectrum, "spiked(2, 10)");
  icl::set_text(row.shift, "covariate_scale(2)");
  row.sigma = 0.1;
  row.init_seed = -3;
  row.gf_time = 1234.5 + static_cast<double>(r);
  row.gf_steps = 987654321012LL;
  row.loss_final = 1.0 / 3.0;
  row.rel_err = 1e-300;
  icl::risk_column(row, "risk_model_mc") = -0.0;
  icl::risk_column(row, "risk_knn_mc_se") = 6.02e23;
  row.mc_prompts = 10000;
  row.seconds = 0.125;
  row.rank = 3;
  return row;
}

TaskResult make_result(std::uint64_t train_id, std::size_t rows, std::size_t samples, std::size_t parameters = 0) {
  TaskResult t;
  for (std::size_t p = 0; p < parameters; ++p)
    t.parameters.push_back(p % 3 == 2 ? std::numeric_limits<double>::quiet_NaN() : std::ldexp(-1.0, -static_cast<int>(p)));
  t.train_id = train_id;
  for (std::size_t r = 0; r < rows; ++r) t.rows.push_back(make_row(train_id * rows + r));
  for (std::size_t s = 0; s < samples; ++s) {
    const double x = static_cast<double>(s);
    t.trajectory.push_back({std::ldexp(1.0, static_cast<int>(s)) - 1.0, 1.0 / (1.0 + x), 1e-3 * x, -0.5 * x});
  }
  return t;
}

void expect_bitwise_equal(const TaskResult& a, const TaskResult& b) {
  EXPECT_EQ(a.train_id, b.train_id);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  ASSERT_EQ(a.trajectory.size(), b.trajectory.size());
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  if (!a.parameters.empty()) {
    EXPECT_EQ(std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(double)), 0);
  }
  for (std::size_t i = 0; i < a.rows.size(); ++i)
    EXPECT_EQ(std::memcmp(&a.rows[i], &b.rows[i], sizeof(ResultRow)), 0) << "row " << i;
  for (std::size_t i = 0; i < a.trajectory.size(); ++i)
    EXPECT_EQ(std::memcmp(&a.trajectory[i], &b.trajectory[i], sizeof(StoredSample)), 0) << "sample " << i;
  EXPECT_EQ(a.model_state, b.model_state);
}

TEST(Messages, RoundTripIsBitwise) {
  TaskResult in = make_result(41, 3, 5, 7);
  in.model_state = std::string("PK\0\x03 a model's state\xff", 21);  // bytes, zeros among them
  const std::vector<std::byte> bytes = icl::pack(in);
  // Header of five u64, then the structs, the weights and the model's state as bytes.
  EXPECT_EQ(bytes.size(), 40 + 3 * sizeof(ResultRow) + 5 * sizeof(StoredSample) + 7 * sizeof(double) + 21);
  const TaskResult out = icl::unpack(bytes);
  expect_bitwise_equal(in, out);
  EXPECT_EQ(out.rows[2].m_test, 32 + 41 * 3 + 2);  // row 125
  EXPECT_EQ(out.trajectory[4].time, 15.0);
  EXPECT_TRUE(std::signbit(icl::risk_column(out.rows[0], "risk_model_mc")));  // -0.0 survives
}

TEST(Messages, ZeroRowsRoundTrip) {
  // A cancelled run: no rows, but a train_id (and possibly a trajectory) still travels.
  const TaskResult empty = make_result(0xfedcba9876543210ULL, 0, 0);
  const std::vector<std::byte> bytes = icl::pack(empty);
  EXPECT_EQ(bytes.size(), 40u);
  expect_bitwise_equal(empty, icl::unpack(bytes));

  const TaskResult only_trajectory = make_result(5, 0, 4);
  expect_bitwise_equal(only_trajectory, icl::unpack(icl::pack(only_trajectory)));
}

TEST(Messages, TruncatedBufferThrows) {
  const std::vector<std::byte> bytes = icl::pack(make_result(2, 2, 3));
  // Shorter than the header.
  EXPECT_THROW(icl::unpack({}), std::runtime_error);
  EXPECT_THROW(icl::unpack(std::vector<std::byte>(bytes.begin(), bytes.begin() + 39)),
               std::runtime_error);
  // A whole header, but the body is one byte (and one sample) short.
  EXPECT_THROW(icl::unpack(std::vector<std::byte>(bytes.begin(), bytes.end() - 1)), std::runtime_error);
  EXPECT_THROW(icl::unpack(std::vector<std::byte>(bytes.begin(), bytes.end() - sizeof(StoredSample))),
               std::runtime_error);
  TaskResult with_state = make_result(2, 2, 3);
  with_state.model_state = "state";
  const std::vector<std::byte> stated = icl::pack(with_state);
  EXPECT_THROW(icl::unpack(std::vector<std::byte>(stated.begin(), stated.end() - 1)), std::runtime_error);
}

TEST(Messages, OversizedBufferThrows) {
  std::vector<std::byte> bytes = icl::pack(make_result(2, 2, 3));
  bytes.push_back(std::byte{0});
  EXPECT_THROW(icl::unpack(bytes), std::runtime_error);
  // A row count larger than the body holds.
  bytes = icl::pack(make_result(2, 2, 3));
  const std::uint64_t rows = 3;
  std::memcpy(bytes.data() + 8, &rows, 8);
  EXPECT_THROW(icl::unpack(bytes), std::runtime_error);
}

TEST(Messages, BatchRoundTripIsBitwise) {
  // A batch's results travel in one message; a cancelled run (no rows) may end it.
  const std::vector<TaskResult> in = {make_result(7, 3, 5, 18), make_result(2, 1, 5, 18), make_result(9, 0, 0)};
  std::vector<TaskResult> out;
  icl::unpack_batch(icl::pack_batch(in), out);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) expect_bitwise_equal(in[i], out[i]);
  icl::unpack_batch(icl::pack_batch({}), out);
  EXPECT_TRUE(out.empty());
}

TEST(Messages, DamagedBatchThrows) {
  const std::vector<std::byte> bytes = icl::pack_batch({make_result(1, 2, 3), make_result(2, 2, 3)});
  std::vector<TaskResult> out;
  EXPECT_THROW(icl::unpack_batch({}, out), std::runtime_error);
  for (const std::size_t cut : {std::size_t{7}, std::size_t{8}, std::size_t{15}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(icl::unpack_batch(std::vector<std::byte>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)), out),
                 std::runtime_error)
        << cut;
  std::vector<std::byte> longer = bytes;
  longer.push_back(std::byte{0});
  EXPECT_THROW(icl::unpack_batch(longer, out), std::runtime_error);
  std::vector<std::byte> more = bytes;
  const std::uint64_t count = 3;  // one result more than the message holds
  std::memcpy(more.data(), &count, 8);
  EXPECT_THROW(icl::unpack_batch(more, out), std::runtime_error);
}

}  // namespace
