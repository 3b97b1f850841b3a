// GPT-2 on in-context regression prompts (docs/theory.md §11): Garg et al.'s tokens x_1, y_1,
// x_2, y_2, ... with y_i padded to d, a linear read-in to the width, learned positions,
// pre-LayerNorm blocks (causal multi-head attention, GELU MLP of 4 x width), a final LayerNorm,
// a linear read-out to one number; predictions at the x positions. Single precision, batch first.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <optional>

#include "torch_model.hpp"

namespace icl::models {
namespace {

// torch::linear is ATen's fused kernel (addmm over the flattened batch); the C++ API's
// torch::nn::Linear::forward in this libtorch multiplies and adds separately for 3-d inputs.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, layer->weight, layer->bias);
}

// The positions whose outputs a forward pass needs: start, start + step, ... Only the last block
// is narrowed to them (its keys and values still come from every position), so the outputs there
// are exactly the full model's; the outputs elsewhere feed nothing.
struct Rows {
  std::int64_t start, step;
};

torch::Tensor take(const torch::Tensor& x, Rows rows, int dim = 1) { return x.slice(dim, rows.start, x.size(dim), rows.step); }

// Causal multi-head self-attention, batch first, the same computation as PyTorch's
// MultiheadAttention (packed input projection, scaled dot products, softmax, output projection),
// with queries at every position or at `rows` alone.
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int width, int heads)
      : heads(heads),
        in_proj(register_module("in_proj", torch::nn::Linear(width, 3 * width))),
        out_proj(register_module("out_proj", torch::nn::Linear(width, width))) {}

  // h: (B, T, width); mask: (T, T), -inf above the diagonal -> (B, T or |rows|, width).
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& mask, std::optional<Rows> rows) {
    const auto b = h.size(0), width = h.size(2), head = width / heads;
    const auto split = [&](const torch::Tensor& part) {
      return part.reshape({b, part.size(1), heads, head}).transpose(1, 2).reshape({b * heads, part.size(1), head});
    };
    torch::Tensor q, k, v, scores_mask = mask;
    if (!rows) {
      const std::vector<torch::Tensor> qkv = linear(in_proj, h).chunk(3, -1);
      q = qkv[0], k = qkv[1], v = qkv[2];
    } else {
      const torch::Tensor &w = in_proj->weight, &bias = in_proj->bias;
      q = torch::linear(take(h, *rows), w.narrow(0, 0, width), bias.narrow(0, 0, width));
      const std::vector<torch::Tensor> kv = torch::linear(h, w.narrow(0, width, 2 * width), bias.narrow(0, width, 2 * width)).chunk(2, -1);
      k = kv[0], v = kv[1];
      scores_mask = take(mask, *rows, 0);
    }
    const auto tq = q.size(1);
    const torch::Tensor scores =
        torch::baddbmm(scores_mask, split(q), split(k).transpose(1, 2), 1.0, 1.0 / std::sqrt(double(head)));
    const torch::Tensor mixed = torch::bmm(torch::softmax(scores, -1), split(v));
    return linear(out_proj, mixed.reshape({b, heads, tq, head}).transpose(1, 2).reshape({b, tq, width}));
  }

  std::int64_t heads;
  torch::nn::Linear in_proj, out_proj;
};
TORCH_MODULE(Attention);

struct BlockImpl : torch::nn::Module {
  BlockImpl(int width, int heads)
      : ln1(register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        attention(register_module("attention", Attention(width, heads))),
        ln2(register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        up(register_module("up", torch::nn::Linear(width, 4 * width))),
        down(register_module("down", torch::nn::Linear(4 * width, width))) {}

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask, std::optional<Rows> rows = std::nullopt) {
    const torch::Tensor h = ln1(x);
    x = (rows ? take(x, *rows) : x) + attention->forward(h, mask, rows);
    return x + linear(down, torch::gelu(linear(up, ln2(x))));
  }

  torch::nn::LayerNorm ln1;
  Attention attention;
  torch::nn::LayerNorm ln2;
  torch::nn::Linear up, down;
};
TORCH_MODULE(Block);

struct Gpt2Impl : torch::nn::Module {
  Gpt2Impl(int d, int layers, int heads, int width, int positions)
      : read_in(register_module("read_in", torch::nn::Linear(d, width))),
        position(register_module("position", torch::nn::Embedding(positions, width))),
        ln_f(register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        read_out(register_module("read_out", torch::nn::Linear(width, 1))) {
    for (int l = 0; l < layers; ++l) blocks.push_back(register_module("block" + std::to_string(l), Block(width, heads)));
  }

  // tokens: (B, T, d) -> (B, |rows|) outputs at the positions `rows`.
  torch::Tensor forward(const torch::Tensor& tokens, Rows rows) {
    const auto t = tokens.size(1);
    torch::Tensor x =
        linear(read_in, tokens) + position(torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(tokens.device())));
    const torch::Tensor mask =
        torch::triu(torch::full({t, t}, -std::numeric_limits<float>::infinity(), tokens.options()), 1);
    for (std::size_t l = 0; l < blocks.size(); ++l)
      x = blocks[l]->forward(x, mask, l + 1 == blocks.size() ? std::optional<Rows>(rows) : std::nullopt);
    return linear(read_out, ln_f(x)).squeeze(-1);
  }

  torch::nn::Linear read_in;
  torch::nn::Embedding position;
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f;
  torch::nn::Linear read_out;
};
TORCH_MODULE(Gpt2);

// bfloat16 autocast on CUDA for the life of the object (train.precision = bf16), as PyTorch's
// torch.autocast("cuda", torch.bfloat16): matrix products in bfloat16, reductions, softmax and
// LayerNorm in float32; the cast weights cached for the region and dropped at its end.
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_on_ = at::autocast::is_autocast_enabled(at::kCUDA);
    was_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    was_on_ = at::autocast::is_enabled();
    was_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, was_on_);
    at::autocast::set_autocast_dtype(at::kCUDA, was_dtype_);
#else
    at::autocast::set_enabled(was_on_);
    at::autocast::set_autocast_gpu_dtype(was_dtype_);
#endif
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool on_, was_on_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

// (B, P, d) points and (B, P) labels -> (B, 2P, d) tokens x_1, (y_1, 0..0), x_2, ...
torch::Tensor interleave(const torch::Tensor& x, const torch::Tensor& y) {
  torch::Tensor y_tokens = torch::zeros_like(x);
  y_tokens.select(2, 0).copy_(y);
  return torch::stack({x, y_tokens}, 2).flatten(1, 2);
}

class Gpt2Model : public TorchModel {
 public:
  Gpt2Model(const SampledSetup& s, torch::Device device)
      : device_(device),
        bf16_(device.is_cuda() && s.options.precision == TrainOptions::Precision::bf16),
        net_(s.d, s.model.layers, s.model.heads, s.model.width, 2 * (std::max(s.n_train, s.max_test_m) + 1)) {
    net_->to(device, torch::kFloat32);
    torch::NoGradGuard no_grad;
    // paper: Garg et al.'s model, as the paper trains it. GPT-2's initialisation for the
    // transformer (HuggingFace's GPT2Model): N(0, 0.02^2) weights and positions, the projections
    // that write into the residual stream (attention's out_proj, the MLP's down) further scaled by
    // 1/sqrt(2 layers), zero biases, unit LayerNorm gains; the read-in and read-out are plain
    // torch.nn.Linear layers there, with PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
    // weights and biases. gaussian(scale): N(0, scale^2) for every weight matrix, biases zero.
    // Drawn from the run's stream.
    const bool paper = s.options.init == "paper";
    std::vector<torch::Tensor> weights, residual;
    for (auto& item : net_->named_parameters()) {
      torch::Tensor& p = item.value();
      const std::string& key = item.key();
      if (paper && (key.starts_with("read_in.") || key.starts_with("read_out."))) continue;
      if (p.dim() >= 2) {
        weights.push_back(p);
        if (key.ends_with("out_proj.weight") || key.ends_with("down.weight")) residual.push_back(p);
      } else if (key.find("ln") != std::string::npos && key.ends_with("weight")) {
        p.fill_(1.0);
      } else {
        p.zero_();
      }
    }
    Stream stream{s.seed, s.train_key, text_key("init")};
    fill_gaussian(weights, paper ? 0.02 : s.options.init_scale, stream);
    if (!paper) return;
    for (torch::Tensor& p : residual) p.mul_(1.0 / std::sqrt(2.0 * s.model.layers));
    for (const torch::nn::Linear& layer : {net_->read_in, net_->read_out}) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(layer->weight.size(1)));  // 1/sqrt(fan_in)
      fill_uniform({layer->weight, layer->bias}, bound, stream);
    }
  }

  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }

  // Squared error averaged over every x position of every prompt (Garg et al.).
  double loss_and_grad(const TrainingBatch& batch) override {
    const auto x = to_tensor(batch.x.data(), {batch.batch, batch.points, batch.d}, torch::kFloat32, device_);
    const auto y = to_tensor(batch.y.data(), {batch.batch, batch.points}, torch::kFloat32, device_);
    net_->zero_grad(/*set_to_none=*/true);  // backward writes the gradients instead of adding to zeros
    torch::Tensor loss;
    {
      const Bf16Autocast autocast(bf16_);  // the forward pass; backward follows its types
      const torch::Tensor tokens = interleave(x, y).narrow(1, 0, 2 * batch.points - 1);
      const torch::Tensor predictions = net_->forward(tokens, Rows{0, 2});
      loss = (predictions.to(torch::kFloat32) - y).square().mean();
    }
    loss.backward();
    return loss.item<double>();
  }

  void predict(const PromptBlock& block, double* out) override {
    torch::NoGradGuard no_grad;
    const Bf16Autocast autocast(bf16_);
    const BlockTensors t = block_tensors(block, torch::kFloat32, device_);
    const torch::Tensor tokens = torch::cat({interleave(t.x, t.y), t.q}, 1);
    copy_out(net_->forward(tokens, Rows{tokens.size(1) - 1, 1}).select(1, 0), out);
  }

 private:
  torch::Device device_;
  bool bf16_;  // train.precision = bf16 on a CUDA device
  Gpt2 net_;
};

}  // namespace

std::unique_ptr<TorchModel> make_gpt2(const SampledSetup& setup, torch::Device device) {
  return std::make_unique<Gpt2Model>(setup, device);
}

}  // namespace icl::models
