#pragma once
// The sampled models in libtorch (internal to models/): each one computes its training loss and
// the gradient of every parameter on a batch of prompts, and predicts queries of test prompts.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "monte_carlo.hpp"
#include "sampled_training.hpp"
#include "training_prompts.hpp"

namespace icl::models {

class TorchModel {
 public:
  virtual ~TorchModel() = default;
  virtual std::vector<torch::Tensor> parameters() = 0;
  // The training loss on `batch` (its prompts' last point is the query), with the gradient of
  // every parameter left in its .grad().
  virtual double loss_and_grad(const TrainingBatch& batch) = 0;
  // The prediction of each query's label (no gradient).
  virtual void predict(const PromptBlock& block, double* out) = 0;
  // One LSA layer: its effective A (y_hat = x_q^T A h when the off-block entries vanish) and the
  // norm of those entries. False for the other models.
  virtual bool effective(Eigen::MatrixXd& /*a_eff*/, double& /*offblock*/) { return false; }
  // LSA-type models: every layer's W^PV and W^KQ, in that order (SampledOutcome::weights).
  virtual std::vector<Eigen::MatrixXd> weights() { return {}; }
};

// The full LSA layer (docs/theory.md §1) with analytic gradients; double precision.
std::unique_ptr<TorchModel> make_lsa(const SampledSetup& setup, torch::Device device);
// L residual LSA layers with the query masked as a key (docs/theory.md §11); autograd; double.
std::unique_ptr<TorchModel> make_linear_transformer(const SampledSetup& setup, torch::Device device);
// GPT-2 on Garg et al.'s tokens (docs/theory.md §11); autograd; single precision.
std::unique_ptr<TorchModel> make_gpt2(const SampledSetup& setup, torch::Device device);

// Sets the process's CUDA numerics for a run on a CUDA device: deterministic algorithms, TF32
// as `precision` says (models/devices.cpp).
void use_cuda_numerics(TrainOptions::Precision precision);

// Adam whose update is a few multi-tensor kernels for all parameters (the trainer's Adam on a GPU);
// on the CPU bitwise torch::optim::Adam, whose state and checkpoints it shares (models/trainer.cpp).
std::unique_ptr<torch::optim::Optimizer> make_multi_tensor_adam(std::vector<torch::Tensor> params, double lr);

// Helpers shared by the models.
torch::Tensor to_tensor(const double* data, std::vector<std::int64_t> shape, torch::Dtype dtype, torch::Device device);
// A block of test prompts as tensors: x (count, m, d), y (count, m), q (count, 1, d).
struct BlockTensors {
  torch::Tensor x, y, q;
};
BlockTensors block_tensors(const PromptBlock& block, torch::Dtype dtype, torch::Device device);
// Copies `count` predictions of a (count) tensor out.
void copy_out(const torch::Tensor& predictions, double* out);
// Fills every tensor, in order, with N(0, scale^2) draws of `stream` (deterministic, unlike
// torch's own generator across thread counts).
void fill_gaussian(const std::vector<torch::Tensor>& tensors, double scale, Stream& stream);
// U(-bound, bound) entries, from `stream` in the tensors' order.
void fill_uniform(const std::vector<torch::Tensor>& tensors, double bound, Stream& stream);
// The paper's W^PV = sigma [[0,0],[0,1]], W^KQ = sigma [[Theta Theta^T, 0],[0,0]].
void paper_init(torch::Tensor& w_pv, torch::Tensor& w_kq, double sigma, const Eigen::MatrixXd& gram);

}  // namespace icl::models
