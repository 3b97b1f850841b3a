// The LSA layer and the deep linear transformer (docs/theory.md §1, §11).
#include <cmath>

#include "gradient_flow.hpp"
#include "torch_model.hpp"

namespace icl::models {
namespace {

using torch::indexing::Slice;

// Tokens as rows: Z[b][i] = (x_i; y_i), the query's label set to 0.
torch::Tensor tokens(const torch::Tensor& x, const torch::Tensor& y) {
  torch::Tensor z = torch::cat({x, y.unsqueeze(-1)}, -1);
  z.index_put_({Slice(), -1, -1}, 0.0);
  return z;
}

// A test block's tokens: the prompt's points, then the query with label 0.
torch::Tensor query_tokens(const PromptBlock& block, torch::Device device) {
  const BlockTensors t = block_tensors(block, torch::kFloat64, device);
  return tokens(torch::cat({t.x, t.q}, 1), torch::cat({t.y, torch::zeros({block.count, 1}, t.y.options())}, 1));
}

// The paper's Theta Theta^T for layer `layer` (layer 0: the flow's own stream, so that lsa,
// linear_transformer(1) and flow start from the same direction).
Eigen::MatrixXd gram_of(const SampledSetup& s, int layer) {
  Stream stream = layer == 0 ? Stream{s.seed, text_key("theta"), static_cast<std::uint64_t>(s.init_seed),
                                      static_cast<std::uint64_t>(s.d)}
                             : Stream{s.seed, text_key("theta"), static_cast<std::uint64_t>(s.init_seed),
                                      static_cast<std::uint64_t>(s.d), static_cast<std::uint64_t>(layer)};
  return initial_gram(s.d, stream);
}

void initialise(const SampledSetup& s, std::vector<torch::Tensor>& pv, std::vector<torch::Tensor>& kq) {
  torch::NoGradGuard no_grad;
  if (s.options.init == "paper") {
    for (std::size_t l = 0; l < pv.size(); ++l) paper_init(pv[l], kq[l], s.sigma, gram_of(s, static_cast<int>(l)));
    return;
  }
  Stream stream{s.seed, s.train_key, text_key("init")};
  std::vector<torch::Tensor> all;
  for (std::size_t l = 0; l < pv.size(); ++l) {
    all.push_back(pv[l]);
    all.push_back(kq[l]);
  }
  fill_gaussian(all, s.options.init_scale, stream);
}

class Lsa : public TorchModel {
 public:
  Lsa(const SampledSetup& s, torch::Device device) : d_(s.d), device_(device) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    std::vector<torch::Tensor> pv{torch::zeros({d_ + 1, d_ + 1}, options)};
    std::vector<torch::Tensor> kq{torch::zeros({d_ + 1, d_ + 1}, options)};
    initialise(s, pv, kq);
    w_pv_ = pv[0];
    w_kq_ = kq[0];
  }

  std::vector<torch::Tensor> parameters() override { return {w_pv_, w_kq_}; }

  // y_hat = p^T S W e_q with p = W^PV's last row, S = E E^T / n, e_q = (x_q; 0):
  //   a = E^T p, c = E^T W e_q, y_hat = a.c / n;
  //   dy/dp = E c / n, dy/dW = (E a / n) e_q^T (docs/theory.md §1).
  double loss_and_grad(const TrainingBatch& batch) override {
    torch::NoGradGuard no_grad;
    const auto x = to_tensor(batch.x.data(), {batch.batch, batch.points, batch.d}, torch::kFloat64, device_);
    const auto y = to_tensor(batch.y.data(), {batch.batch, batch.points}, torch::kFloat64, device_);
    const double n = batch.points - 1;
    const torch::Tensor z = tokens(x, y);
    const torch::Tensor e_q = z.select(1, -1);                 // B x (d+1)
    const torch::Tensor p = w_pv_.select(0, d_);               // d+1
    const torch::Tensor v = torch::matmul(e_q, w_kq_.t());     // B x (d+1): W e_q
    const torch::Tensor a = torch::matmul(z, p);               // B x P
    const torch::Tensor c = torch::bmm(z, v.unsqueeze(-1)).squeeze(-1);  // B x P
    const torch::Tensor y_hat = (a * c).sum(1) / n;
    const torch::Tensor residual = y_hat - y.select(1, -1);
    const torch::Tensor r = residual / static_cast<double>(batch.batch);
    torch::Tensor grad_pv = torch::zeros_like(w_pv_);
    grad_pv.select(0, d_).copy_(torch::einsum("bpk,bp->k", {z, c * r.unsqueeze(1)}) / n);
    const torch::Tensor grad_kq = torch::einsum("bpk,bp,bj->kj", {z, a * r.unsqueeze(1), e_q}) / n;
    w_pv_.mutable_grad() = grad_pv;
    w_kq_.mutable_grad() = grad_kq;
    return 0.5 * residual.square().mean().item<double>();
  }

  void predict(const PromptBlock& block, double* out) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor z = query_tokens(block, device_);
    const torch::Tensor e_q = z.select(1, -1);
    const torch::Tensor a = torch::matmul(z, w_pv_.select(0, d_));
    const torch::Tensor c = torch::bmm(z, torch::matmul(e_q, w_kq_.t()).unsqueeze(-1)).squeeze(-1);
    copy_out((a * c).sum(1) / static_cast<double>(block.m), out);
  }

  bool effective(Eigen::MatrixXd& a_eff, double& offblock) override {
    return lsa_effective(w_pv_, w_kq_, d_, a_eff, offblock);
  }

  std::vector<Eigen::MatrixXd> weights() override { return {to_eigen(w_pv_), to_eigen(w_kq_)}; }

  // A square parameter as an Eigen matrix (double, on the CPU).
  static Eigen::MatrixXd to_eigen(const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        c.data_ptr<double>(), c.size(0), c.size(1));
  }

  // A_eff = p_y W11^T; the blocks the reduced model keeps at zero: W^PV[d, :d] and W^KQ[d, :d].
  static bool lsa_effective(const torch::Tensor& w_pv, const torch::Tensor& w_kq, int d, Eigen::MatrixXd& a_eff,
                            double& offblock) {
    const torch::Tensor pv = w_pv.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const torch::Tensor kq = w_kq.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> PV(
        pv.data_ptr<double>(), d + 1, d + 1), KQ(kq.data_ptr<double>(), d + 1, d + 1);
    a_eff = PV(d, d) * KQ.topLeftCorner(d, d).transpose();
    offblock = std::sqrt(PV.row(d).head(d).squaredNorm() + KQ.row(d).head(d).squaredNorm());
    return true;
  }

 private:
  int d_;
  torch::Device device_;
  torch::Tensor w_pv_, w_kq_;
};

class LinearTransformer : public TorchModel {
 public:
  LinearTransformer(const SampledSetup& s, torch::Device device) : d_(s.d), device_(device) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    for (int l = 0; l < s.model.layers; ++l) {
      pv_.push_back(torch::zeros({d_ + 1, d_ + 1}, options));
      kq_.push_back(torch::zeros({d_ + 1, d_ + 1}, options));
    }
    initialise(s, pv_, kq_);
    for (auto& t : pv_) t.set_requires_grad(true);
    for (auto& t : kq_) t.set_requires_grad(true);
  }

  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> all;
    for (std::size_t l = 0; l < pv_.size(); ++l) {
      all.push_back(pv_[l]);
      all.push_back(kq_[l]);
    }
    return all;
  }

  // Z <- Z + (Z W^KQ^T Z^T) M (Z W^PV^T) / n in rows, M masking the query as a key; the
  // prediction is the query's label entry after the last layer.
  torch::Tensor forward(torch::Tensor z, double n) const {
    const auto points = z.size(1);
    const torch::Tensor key_mask = torch::ones({points}, z.options()).index_put_({points - 1}, 0.0);
    for (std::size_t l = 0; l < pv_.size(); ++l) {
      const torch::Tensor scores = torch::matmul(torch::matmul(z, kq_[l].t()), z.transpose(1, 2)) * key_mask;
      z = z + torch::matmul(scores, torch::matmul(z, pv_[l].t())) / n;
    }
    return z.select(1, -1).select(1, d_);
  }

  double loss_and_grad(const TrainingBatch& batch) override {
    const auto x = to_tensor(batch.x.data(), {batch.batch, batch.points, batch.d}, torch::kFloat64, device_);
    const auto y = to_tensor(batch.y.data(), {batch.batch, batch.points}, torch::kFloat64, device_);
    for (auto& p : parameters()) p.mutable_grad() = torch::Tensor();
    const torch::Tensor loss = 0.5 * (forward(tokens(x, y), batch.points - 1) - y.select(1, -1)).square().mean();
    loss.backward();
    return loss.item<double>();
  }

  void predict(const PromptBlock& block, double* out) override {
    torch::NoGradGuard no_grad;
    copy_out(forward(query_tokens(block, device_), block.m), out);
  }

  bool effective(Eigen::MatrixXd& a_eff, double& offblock) override {
    if (pv_.size() != 1) return false;
    return Lsa::lsa_effective(pv_[0], kq_[0], d_, a_eff, offblock);
  }

  std::vector<Eigen::MatrixXd> weights() override {
    std::vector<Eigen::MatrixXd> all;
    for (std::size_t l = 0; l < pv_.size(); ++l) {
      all.push_back(Lsa::to_eigen(pv_[l]));
      all.push_back(Lsa::to_eigen(kq_[l]));
    }
    return all;
  }

 private:
  int d_;
  torch::Device device_;
  std::vector<torch::Tensor> pv_, kq_;
};

}  // namespace

std::unique_ptr<TorchModel> make_lsa(const SampledSetup& setup, torch::Device device) {
  return std::make_unique<Lsa>(setup, device);
}

std::unique_ptr<TorchModel> make_linear_transformer(const SampledSetup& setup, torch::Device device) {
  return std::make_unique<LinearTransformer>(setup, device);
}

}  // namespace icl::models
