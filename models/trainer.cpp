// The training loop of the sampled models: fresh prompts every step from the run's stream, an
// optimizer and a learning-rate schedule, a curriculum, log-spaced samples of the loss curve.
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <new>
#include <sstream>
#include <string_view>

#include "torch_model.hpp"

#include <dlfcn.h>
#include <malloc.h>

namespace icl {
namespace models {

torch::Tensor to_tensor(const double* data, std::vector<std::int64_t> shape, torch::Dtype dtype, torch::Device device) {
  // from_blob does not own the data: the copy to the dtype and device does.
  return torch::from_blob(const_cast<double*>(data), shape, torch::kFloat64).to(device, dtype, false, true);
}

BlockTensors block_tensors(const PromptBlock& block, torch::Dtype dtype, torch::Device device) {
  return {to_tensor(block.x, {block.count, block.m, block.d}, dtype, device),
          to_tensor(block.y, {block.count, block.m}, dtype, device),
          to_tensor(block.q, {block.count, 1, block.d}, dtype, device)};
}

void copy_out(const torch::Tensor& predictions, double* out) {
  const torch::Tensor values = predictions.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  std::copy_n(values.data_ptr<double>(), values.numel(), out);
}

namespace {
// Every entry of the tensors, in order, from draw().
template <class Draw>
void fill_drawn(const std::vector<torch::Tensor>& tensors, Draw draw) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& t : tensors) {
    std::vector<double> values(static_cast<std::size_t>(t.numel()));
    for (double& v : values) v = draw();
    t.copy_(torch::from_blob(values.data(), t.sizes(), torch::kFloat64).to(t.dtype()));
  }
}
}  // namespace

void fill_gaussian(const std::vector<torch::Tensor>& tensors, double scale, Stream& stream) {
  fill_drawn(tensors, [&] { return scale * stream.normal(); });
}

void fill_uniform(const std::vector<torch::Tensor>& tensors, double bound, Stream& stream) {
  fill_drawn(tensors, [&] { return stream.uniform(-bound, bound); });
}

void paper_init(torch::Tensor& w_pv, torch::Tensor& w_kq, double sigma, const Eigen::MatrixXd& gram) {
  torch::NoGradGuard no_grad;
  const int d = static_cast<int>(gram.rows());
  w_pv.zero_();
  w_kq.zero_();
  w_pv.index_put_({d, d}, sigma);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> g = sigma * gram;
  w_kq.narrow(0, 0, d).narrow(1, 0, d).copy_(torch::from_blob(const_cast<double*>(g.data()), {d, d}, torch::kFloat64));
}

namespace {

// OpenBLAS keeps a thread pool of its own beside torch's, one thread per core unless told; one
// rank per core must not start more, and small GEMMs run slower across threads anyway. Debian
// can load it twice (as libblas.so.3 through the alternatives, and as libopenblas.so.0), so every
// loaded copy is told; the reference BLAS has no such function and is left alone.
void limit_blas_threads(int threads) {
  for (const char* library : {"libblas.so.3", "libopenblas.so.0", "libopenblasp.so.0"}) {
    void* handle = ::dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    if (void* set = ::dlsym(handle, "openblas_set_num_threads")) reinterpret_cast<void (*)(int)>(set)(threads);
    ::dlclose(handle);
  }
}

// Every step frees and allocates the same megabyte-sized activation buffers. With glibc's default
// thresholds those are handed back to the kernel at once (the heap top trimmed, large blocks
// unmapped) and page-faulted in anew the next step: a quarter of a GPT-2 step went to the kernel.
// Raised thresholds keep them in the process for reuse (blocks above 32 MiB, glibc's ceiling,
// are still mapped). Process-wide; set once, by the first training run of the process.
void keep_freed_buffers() {
  static const bool once = [] {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return true;
  }();
  (void)once;
}

// torch::optim::Adam with its update in eight multi-tensor kernels (at::_foreach_*) for all the
// parameters together, instead of seven kernels a parameter: on a GPU a kernel's launch costs
// more than its arithmetic for all but the largest tensors (GPT-2(12, 8, 256) has 151 of them;
// PyTorch's own Adam does the same there). Each entry goes through the same operations in the
// same order as in torch::optim::Adam, and the state (Adam's, so checkpoints are Adam's) is kept
// the same way: on the CPU the two are bitwise equal (model test
// MultiTensorAdamIsTorchsAdamBitwise). No weight decay or AMSGrad (the trainer uses neither).
class MultiTensorAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    for (auto& group : param_groups_) {
      const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
      if (o.weight_decay() != 0.0 || o.amsgrad())
        throw std::logic_error("MultiTensorAdam: no weight decay or AMSGrad");
      // Parameters by their step count (one group: all of them, always, in this trainer).
      std::map<std::int64_t, Lists> by_step;
      for (const torch::Tensor& p : group.params()) {
        if (!p.grad().defined()) continue;
        auto& slot = state_[key_of(state_, p)];
        if (!slot) {
          auto fresh = std::make_unique<torch::optim::AdamParamState>();
          fresh->step(0);
          fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          slot = std::move(fresh);
        }
        auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
        state.step(state.step() + 1);
        Lists& lists = by_step[state.step()];
        lists.params.push_back(p);
        lists.grads.push_back(p.grad());
        lists.avgs.push_back(state.exp_avg());
        lists.squares.push_back(state.exp_avg_sq());
      }
      const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      for (auto& [step, l] : by_step) {
        const double correction1 = 1 - std::pow(beta1, static_cast<double>(step));
        const double correction2 = 1 - std::pow(beta2, static_cast<double>(step));
        at::_foreach_mul_(l.avgs, beta1);
        at::_foreach_add_(l.avgs, l.grads, 1 - beta1);
        at::_foreach_mul_(l.squares, beta2);
        at::_foreach_addcmul_(l.squares, l.grads, l.grads, 1 - beta2);
        std::vector<torch::Tensor> denominators = at::_foreach_sqrt(l.squares);
        at::_foreach_div_(denominators, std::sqrt(correction2));
        at::_foreach_add_(denominators, o.eps());
        at::_foreach_addcdiv_(l.params, l.avgs, denominators, -o.lr() / correction1);
      }
    }
    return loss;
  }

 private:
  struct Lists {
    std::vector<torch::Tensor> params, grads, avgs, squares;
  };
  // The key of a parameter's state: its TensorImpl, as a string in libtorch 1.x, as a pointer in 2.x.
  template <class Map>
  static typename Map::key_type key_of(const Map&, const torch::Tensor& p) {
    if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
      std::ostringstream text;  // c10::guts::to_string's form
      text << p.unsafeGetTensorImpl();
      return text.str();
    } else {
      return static_cast<typename Map::key_type>(p.unsafeGetTensorImpl());
    }
  }
};

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_multi_tensor_adam(std::vector<torch::Tensor> params, double lr) {
  return std::make_unique<MultiTensorAdam>(std::move(params), torch::optim::AdamOptions(lr));
}

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, std::vector<torch::Tensor> params) {
  const bool gpu = !params.empty() && params.front().is_cuda();
  switch (o.optimizer) {
    case TrainOptions::Optimizer::adam:
      // On the CPU torch's own: the two are bitwise equal there, and its loop is no slower.
      if (gpu) return std::make_unique<MultiTensorAdam>(params, torch::optim::AdamOptions(o.lr));
      return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.lr));
    case TrainOptions::Optimizer::adamw:
      return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(o.lr));
    case TrainOptions::Optimizer::sgd:
      return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(o.lr));
  }
  return nullptr;
}

// Which steps the loss curve keeps: 0, then log-spaced up to the last step.
std::vector<std::int64_t> sample_steps(std::int64_t steps, int points) {
  std::vector<std::int64_t> at{0};
  for (int k = 1; k < points; ++k) {
    const double t = std::exp(std::log(static_cast<double>(steps)) * k / (points - 1));
    const auto s = std::min<std::int64_t>(steps - 1, static_cast<std::int64_t>(std::llround(t)) - 1);
    if (s > at.back()) at.push_back(s);
  }
  return at;
}

// The training state between steps, as libtorch's archive: what a resumed run needs to continue
// bitwise (the prompts of a step depend on the step alone).
struct State {
  std::int64_t step = 0;       // the next step to take
  std::size_t next_sample = 0;
  double tail_sum = 0.0;
  double late_max = 0.0;       // the largest batch loss of the second half of training
  bool final = false;          // a run's final state: no optimizer state, nothing more to train
};

// A final state (`optimizer` null) keeps no optimizer state: a third of the size for Adam.
std::string save_state(TorchModel& model, torch::optim::Optimizer* optimizer, const State& state,
                       const std::vector<TrainingSample>& trajectory, std::uint64_t train_key) {
  torch::serialize::OutputArchive archive;
  const auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) archive.write("parameter" + std::to_string(i), params[i].detach());
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  archive.write("train_key", torch::tensor({static_cast<std::int64_t>(train_key)}, i64));
  archive.write("step", torch::tensor({state.step, static_cast<std::int64_t>(state.next_sample)}, i64));
  archive.write("tail_sum", torch::tensor({state.tail_sum, state.late_max}, torch::TensorOptions().dtype(torch::kFloat64)));
  std::vector<double> samples;
  for (const auto& t : trajectory) samples.insert(samples.end(), {t.step, t.loss, t.rel_err, t.excess});
  archive.write("trajectory", torch::from_blob(samples.data(), {static_cast<std::int64_t>(samples.size())},
                                               torch::kFloat64).clone());
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

State load_state(const std::string& bytes, TorchModel& model, torch::optim::Optimizer& optimizer,
                 std::vector<TrainingSample>& trajectory, std::uint64_t train_key) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  // Onto this run's device, whichever GPU (or the CPU) wrote it: a checkpoint of a run on cuda:1
  // continues on the rank that takes the run up, cuda:0 say, with its optimizer state beside the
  // parameters.
  const auto params_now = model.parameters();
  archive.load_from(in, params_now.empty() ? torch::Device(torch::kCPU) : params_now.front().device());
  // A fresh tensor per read: reading into a defined tensor keeps that tensor's type.
  const auto read = [&](const std::string& key) {
    torch::Tensor t;
    archive.read(key, t);
    return t;
  };
  torch::Tensor t = read("train_key");
  if (t.numel() != 1 || static_cast<std::uint64_t>(t[0].item<std::int64_t>()) != train_key)
    throw std::runtime_error("the checkpoint belongs to another training run");
  torch::NoGradGuard no_grad;
  auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i].copy_(read("parameter" + std::to_string(i)));
  }
  torch::serialize::InputArchive optimizer_archive;
  State state;
  if (archive.try_read("optimizer", optimizer_archive))
    optimizer.load(optimizer_archive);
  else
    state.final = true;
  t = read("step");
  state.step = t[0].item<std::int64_t>();
  state.next_sample = static_cast<std::size_t>(t[1].item<std::int64_t>());
  t = read("tail_sum");
  if (t.numel() != 2) throw std::runtime_error("the checkpoint's loss sums have another length");
  state.tail_sum = t[0].item<double>();
  state.late_max = t[1].item<double>();
  t = read("trajectory").to(torch::kCPU).contiguous();
  const double* v = t.data_ptr<double>();
  if (static_cast<std::size_t>(t.numel()) != 4 * trajectory.size())
    throw std::runtime_error("the checkpoint's loss curve has another length");
  for (std::size_t k = 0; k < trajectory.size(); ++k)
    trajectory[k] = TrainingSample{v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]};
  return state;
}

}  // namespace
}  // namespace models

namespace {

// Memory that libtorch could not get is the machine's failure, not the run's: as std::bad_alloc,
// which the sweep does not record as a result (sweep/task/run_task.hpp). libtorch 1.13 says so by
// c10::OutOfMemoryError (CUDA) or by a c10::Error of its CPU allocator.
template <class Work>
decltype(auto) memory_failures_as_bad_alloc(Work&& work) {
  try {
    return work();
  } catch (const c10::OutOfMemoryError&) {
    throw std::bad_alloc();
  } catch (const c10::Error& e) {
    if (std::string_view(e.what()).find("can't allocate memory") != std::string_view::npos) throw std::bad_alloc();
    throw;
  }
}

SampledOutcome train(const SampledSetup& s, CancelCheck cancelled);

}  // namespace

SampledOutcome train_sampled(const SampledSetup& s, CancelCheck cancelled) {
  SampledOutcome out = memory_failures_as_bad_alloc([&] { return train(s, cancelled); });
  if (out.predictor)
    out.predictor = [predict = std::move(out.predictor)](const PromptBlock& block, double* predictions) {
      memory_failures_as_bad_alloc([&] { predict(block, predictions); });
    };
  return out;
}

namespace {

SampledOutcome train(const SampledSetup& s, CancelCheck cancelled) {
  using namespace models;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  torch::set_num_threads(s.options.threads);
  limit_blas_threads(s.options.threads);
  keep_freed_buffers();
  const torch::Device device(s.options.device);
  if (device.is_cuda()) use_cuda_numerics(s.options.precision);

  std::shared_ptr<TorchModel> model;
  switch (s.model.kind) {
    case ModelSpec::Kind::lsa: model = make_lsa(s, device); break;
    case ModelSpec::Kind::linear_transformer: model = make_linear_transformer(s, device); break;
    case ModelSpec::Kind::gpt2: model = make_gpt2(s, device); break;
    case ModelSpec::Kind::flow: throw std::invalid_argument("train_sampled: flow is not a sampled model");
  }
  const auto optimizer = make_optimizer(s.options, model->parameters());

  SampledOutcome out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto keep = sample_steps(s.options.steps, s.trajectory_points);
  out.trajectory.assign(static_cast<std::size_t>(s.trajectory_points), TrainingSample{nan, nan, nan, nan});
  const Eigen::MatrixXd optimum = s.loss->optimum_matrix();
  const auto sample = [&](std::size_t k, std::int64_t step, double loss) {
    TrainingSample& t = out.trajectory[k];
    t.step = static_cast<double>(step);
    t.loss = loss;
    Eigen::MatrixXd a_eff;
    double offblock = 0.0;
    if (model->effective(a_eff, offblock)) {
      t.rel_err = (a_eff - optimum).norm() / optimum.norm();
      t.excess = s.loss->excess(s.loss->basis.transpose() * a_eff * s.loss->basis);
    }
  };

  const Curriculum curriculum{s.d, s.n_train + 1, s.options.curriculum_every};
  const std::int64_t tail = std::max<std::int64_t>(1, std::min<std::int64_t>(100, s.options.steps / 10));
  State state;
  if (!s.resume_from.empty()) {
    try {
      state = load_state(s.resume_from, *model, *optimizer, out.trajectory, s.train_key);
      out.resumed_at = state.step;
    } catch (const std::exception& e) {
      throw CheckpointMismatch(std::string("cannot continue from the checkpoint: ") + e.what());
    }
  }
  auto last_save = Clock::now();
  const auto checkpoint = [&] {
    if (!s.save) return;
    s.save(save_state(*model, optimizer.get(), state, out.trajectory, s.train_key));
    last_save = Clock::now();
  };
  TrainingBatch batch;
  out.status = TrainingStatus::trained;
  out.steps = state.step;
  for (; state.step < s.options.steps; ++state.step) {
    const std::int64_t step = state.step;
    if (cancelled && cancelled()) {
      checkpoint();  // a stop loses no training
      out.status = TrainingStatus::cancelled;
      return out;
    }
    if (s.save && std::chrono::duration<double>(Clock::now() - last_save).count() >= s.options.checkpoint_seconds)
      checkpoint();
    Stream stream{s.seed, s.train_key, text_key("train-batch"), static_cast<std::uint64_t>(step)};
    sample_training_batch(*s.covariance, s.options.batch, curriculum.points_at(step), curriculum.dims_at(step), stream,
                          batch, s.train_noise);
    const double loss = model->loss_and_grad(batch);
    if (!std::isfinite(loss)) {
      out.status = TrainingStatus::diverged;
      out.steps = step;
      break;
    }
    // A final state ends before its last step only where that step diverged (above): one that
    // would train on has no optimizer state to train with.
    if (state.final) throw CheckpointMismatch("a final training state that does not end its run");
    if (state.next_sample < keep.size() && keep[state.next_sample] == step) sample(state.next_sample++, step, loss);
    if (step >= s.options.steps - tail) state.tail_sum += loss;
    if (2 * step >= s.options.steps) state.late_max = std::max(state.late_max, loss);
    if (s.options.clip > 0.0) torch::nn::utils::clip_grad_norm_(model->parameters(), s.options.clip);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(scheduled_lr(s.options, step));
    optimizer->step();
    out.steps = step + 1;
  }
  const double tail_sum = state.tail_sum;
  if (out.status == TrainingStatus::trained) out.loss_final = tail_sum / static_cast<double>(std::min(tail, s.options.steps));
  // A linear transformer (lsa, linear_transformer(L)) has blown up, finite or not (diverged), when
  // its loss at the end is twice the zero predictor's, L(0) = E[y^2] / 2 over the training law, or
  // more (twice: the end's loss is a mean over a few batches, noisy enough that a model that has
  // learnt a little can sit above L(0) itself), or when one batch of the second half of training
  // reached kLateSpike L(0): a model whose error on rare prompts is that large has a population
  // risk its end-of-training mean does not show, and is no stable solution (docs/theory.md §11).
  const bool linear = s.model.kind == ModelSpec::Kind::lsa || s.model.kind == ModelSpec::Kind::linear_transformer;
  const double zero_loss = s.loss->minimum() + s.loss->excess(Eigen::MatrixXd::Zero(s.d, s.d));
  if (linear && out.status == TrainingStatus::trained && linear_run_blew_up(out.loss_final, state.late_max, zero_loss))
    out.status = TrainingStatus::diverged;
  if (model->effective(out.a_eff, out.offblock_norm) && !out.a_eff.allFinite()) out.status = TrainingStatus::diverged;
  out.weights = model->weights();
  out.state = save_state(*model, nullptr, state, out.trajectory, s.train_key);
  out.predictor = [model](const PromptBlock& block, double* predictions) { model->predict(block, predictions); };
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace
}  // namespace icl
