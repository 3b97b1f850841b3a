// GPT-2 on in-context regression prompts (docs/theory.md §11): Garg et al.'s tokens x_1, y_1,
// x_2, y_2, ... with y_i padded to d, a linear read-in to the width, learned positions,
// pre-LayerNorm blocks (causal multi-head attention, GELU MLP of 4 x width), a final LayerNorm,
// a linear read-out to one number; predictions at the x positions. Single precision, batch first.
#include <cmath>

#include "torch_model.hpp"

namespace icl::models {
namespace {

// torch::linear is ATen's fused kernel (addmm over the flattened batch); the C++ API's
// torch::nn::Linear::forward in this libtorch multiplies and adds separately for 3-d inputs.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, layer->weight, layer->bias);
}

// Causal multi-head self-attention, batch first, the same computation as PyTorch's
// MultiheadAttention (packed input projection, scaled dot products, softmax, output projection).
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int width, int heads)
      : heads(heads),
        in_proj(register_module("in_proj", torch::nn::Linear(width, 3 * width))),
        out_proj(register_module("out_proj", torch::nn::Linear(width, width))) {}

  // x: (B, T, width); mask: (T, T), -inf above the diagonal.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const auto b = x.size(0), t = x.size(1), width = x.size(2), head = width / heads;
    const auto split = [&](const torch::Tensor& part) {
      return part.reshape({b, t, heads, head}).transpose(1, 2).reshape({b * heads, t, head});
    };
    const std::vector<torch::Tensor> qkv = linear(in_proj, x).chunk(3, -1);
    const torch::Tensor scores =
        torch::baddbmm(mask, split(qkv[0]), split(qkv[1]).transpose(1, 2), 1.0, 1.0 / std::sqrt(double(head)));
    const torch::Tensor mixed = torch::bmm(torch::softmax(scores, -1), split(qkv[2]));
    return linear(out_proj, mixed.reshape({b, heads, t, head}).transpose(1, 2).reshape({b, t, width}));
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

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask) {
    x = x + attention->forward(ln1(x), mask);
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

  // tokens: (B, T, d) -> (B, T) outputs.
  torch::Tensor forward(const torch::Tensor& tokens) {
    const auto t = tokens.size(1);
    torch::Tensor x =
        linear(read_in, tokens) + position(torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(tokens.device())));
    const torch::Tensor mask =
        torch::triu(torch::full({t, t}, -std::numeric_limits<float>::infinity(), tokens.options()), 1);
    for (auto& block : blocks) x = block->forward(x, mask);
    return linear(read_out, ln_f(x)).squeeze(-1);
  }

  torch::nn::Linear read_in;
  torch::nn::Embedding position;
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f;
  torch::nn::Linear read_out;
};
TORCH_MODULE(Gpt2);

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
        net_(s.d, s.model.layers, s.model.heads, s.model.width, 2 * (std::max(s.n_train, s.max_test_m) + 1)) {
    net_->to(device, torch::kFloat32);
    torch::NoGradGuard no_grad;
    // GPT-2's initialisation (N(0, 0.02^2) weights, zero biases, unit LayerNorm gains), or
    // gaussian(scale) for every weight matrix; drawn from the run's stream.
    const double scale = s.options.init == "paper" ? 0.02 : s.options.init_scale;
    std::vector<torch::Tensor> weights;
    for (auto& item : net_->named_parameters()) {
      torch::Tensor& p = item.value();
      if (p.dim() >= 2)
        weights.push_back(p);
      else if (item.key().find("ln") != std::string::npos && item.key().ends_with("weight"))
        p.fill_(1.0);
      else
        p.zero_();
    }
    Stream stream{s.seed, s.train_key, text_key("init")};
    fill_gaussian(weights, scale, stream);
  }

  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }

  // Squared error averaged over every x position of every prompt (Garg et al.).
  double loss_and_grad(const TrainingBatch& batch) override {
    const auto x = to_tensor(batch.x.data(), {batch.batch, batch.points, batch.d}, torch::kFloat32, device_);
    const auto y = to_tensor(batch.y.data(), {batch.batch, batch.points}, torch::kFloat32, device_);
    net_->zero_grad(/*set_to_none=*/true);  // backward writes the gradients instead of adding to zeros
    const torch::Tensor tokens = interleave(x, y).narrow(1, 0, 2 * batch.points - 1);
    const torch::Tensor predictions = net_->forward(tokens).slice(1, 0, 2 * batch.points - 1, 2);
    const torch::Tensor loss = (predictions - y).square().mean();
    loss.backward();
    return loss.item<double>();
  }

  void predict(const PromptBlock& block, double* out) override {
    torch::NoGradGuard no_grad;
    const BlockTensors t = block_tensors(block, torch::kFloat32, device_);
    copy_out(net_->forward(torch::cat({interleave(t.x, t.y), t.q}, 1)).select(1, -1), out);
  }

 private:
  torch::Device device_;
  Gpt2 net_;
};

}  // namespace

std::unique_ptr<TorchModel> make_gpt2(const SampledSetup& setup, torch::Device device) {
  return std::make_unique<Gpt2Model>(setup, device);
}

}  // namespace icl::models
