#pragma once
// Dense products of d x d matrices that a stop can interrupt. One d = 4096 GEMM is seconds of
// uninterruptible work; here the product is computed in blocks of result columns, each a few
// hundred million flops, with the stop polled between blocks. A diagonal factor (an identity
// eigenbasis, a spectrum, eta I) costs O(d^2) instead, with the same result: the skipped terms
// are exact zeros.
#include <Eigen/Dense>

#include "cancellation.hpp"

namespace icl {

// a * b; throws Cancelled when `cancelled` says so between blocks.
Eigen::MatrixXd product(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, CancelCheck cancelled);

// a * diag(v) * b.
Eigen::MatrixXd product(const Eigen::MatrixXd& a, const Eigen::VectorXd& v, const Eigen::MatrixXd& b,
                        CancelCheck cancelled);

// tr(a b) = sum_ij a_ij b_ji, in O(d^2) without forming a b.
double trace_of_product(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

}  // namespace icl
