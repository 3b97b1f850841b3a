#!/usr/bin/env python3
"""One training step of GPT-2 on in-context regression in PyTorch from Python: the reference the
C++ models' step time is held against (scripts/gpu-check.sh, README "GPUs"), on a GPU or the CPU.

The model is bench/torch_reference.py's Gpt2, written as a PyTorch user would
(torch.nn.MultiheadAttention, every position computed, the x positions' outputs taken); Adam; each
step draws a batch of prompts (x ~ N(0, I), w ~ N(0, I), y = <w, x>) on the CPU and moves it to the
device, as the C++ trainer does, and reads the loss back (loss.item(), as a training loop that logs
it does, and as the C++ trainer does).

    python3 bench/gpt2_step.py --device cuda --layers 12 --heads 8 --width 256 --d 20 --n 40
"""
import argparse
import os
import statistics
import sys
import time


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200, help="steps timed in each of three rounds")
    ap.add_argument("--threads", type=int, default=1, help="threads on the CPU (torch's and its BLAS's)")
    ap.add_argument("--deterministic", action="store_true",
                    help="deterministic algorithms, as the C++ trainer on a GPU (torch.use_deterministic_algorithms, "
                         "CUBLAS_WORKSPACE_CONFIG=:4096:8)")
    return ap.parse_args()


ARGS = parse() if __name__ == "__main__" else None
if ARGS is not None:
    # OpenBLAS (Debian's torch's BLAS) keeps a thread pool of its own, one thread per core, which
    # torch.set_num_threads does not bound: bounded here before torch loads it, as the C++
    # trainer bounds it (models/trainer.cpp).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(ARGS.threads)
    if ARGS.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from torch_reference import Gpt2, batch_of  # noqa: E402


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(a.deterministic)
    torch.manual_seed(0)
    model = Gpt2(a.d, a.layers, a.heads, a.width, 2 * (a.n + 1)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(1)

    def step():
        x, y = batch_of(a.d, a.n, a.batch, generator, torch.float32)
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda and a.precision == "bf16"):
            predictions = model(x, y)
            loss = (predictions.float() - y).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for _ in range(10):
        step()
    rounds = []
    for _ in range(3):
        sync()
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        rounds.append((time.perf_counter() - start) / a.steps)
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    print(f"PyTorch {torch.__version__} from Python, gpt2({a.layers}, {a.heads}, {a.width}), d = {a.d}, N = {a.n}, "
          f"batch {a.batch}, {a.device} ({name}), {a.precision}{', deterministic' if a.deterministic else ''}: {1e3 * statistics.median(rounds):.2f} ms a step "
          f"(median of 3; {1e3 * min(rounds):.2f} to {1e3 * max(rounds):.2f})")


if __name__ == "__main__":
    main()
