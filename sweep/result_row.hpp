#pragma once
#include <cstdint>

namespace icl {

// One row of /results, laid out exactly as the HDF5 compound type (SPEC.md "Output"); the
// same bytes travel between ranks. Strings are fixed-length, NUL-padded ASCII.
struct ResultRow {
  std::uint64_t row;
  std::uint64_t train_id;
  std::uint8_t done;
  char status[16];
  std::int32_t d, n_train, m_test;
  char spectrum[128];
  char shift[48];
  double sigma;
  std::int32_t init_seed;
  double gf_time;
  std::int64_t gf_steps;
  double loss_final, loss_min, rel_err, balance_drift;
  double risk_lsa_theory, risk_lsa_limit;
  double risk_lsa_mc, risk_lsa_mc_se;
  double risk_ols_mc, risk_ols_mc_se;
  double risk_ridge_mc, risk_ridge_mc_se;
  double risk_gd_theory, risk_gd_mc;
  double risk_avg_mc, risk_avg_mc_se;
  double risk_knn_mc, risk_knn_mc_se;
  double risk_zero;
  std::int32_t mc_prompts;
  double seconds;
  std::int32_t rank;
};

// One trajectory sample as stored under /trajectories.
struct StoredSample {
  double time, loss, rel_err, excess_loss;
};

}  // namespace icl
