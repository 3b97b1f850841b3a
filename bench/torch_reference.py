"""The sampled models of bench/bench_models.cpp written in PyTorch from Python, as a careful
researcher would (autograd, torch.optim.Adam, the same sizes and thread count): the reference that
the C++ trainer's throughput is compared with.
    /usr/bin/python3 bench/torch_reference.py [--model lsa|gpt2] [--steps S] [--threads 1]"""
import argparse
import os
import statistics
import sys
import time

# OpenBLAS starts one thread per core unless told before it loads: the comparison is per thread.
if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
import torch  # noqa: E402

D, N, BATCH = 5, 20, 64


def batch_of(d, n, batch, generator, dtype):
    x = torch.randn(batch, n + 1, d, generator=generator, dtype=torch.float64)
    w = torch.randn(batch, d, 1, generator=generator, dtype=torch.float64)
    y = (x @ w).squeeze(-1)
    return x.to(dtype), y.to(dtype)


class Lsa(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w_pv = torch.nn.Parameter(torch.zeros(d + 1, d + 1, dtype=torch.float64))
        self.w_kq = torch.nn.Parameter(torch.zeros(d + 1, d + 1, dtype=torch.float64))
        with torch.no_grad():
            self.w_pv[d, d] = 0.1
            self.w_kq[:d, :d] = 0.1 * torch.eye(d, dtype=torch.float64)

    def forward(self, x, y):
        z = torch.cat([x, y.unsqueeze(-1)], -1)
        z[:, -1, -1] = 0.0
        e = z.transpose(1, 2)
        n = x.shape[1] - 1
        out = e + self.w_pv @ e @ (e.transpose(1, 2) @ self.w_kq @ e) / n
        return out[:, -1, -1]


class Block(torch.nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(width)
        self.attention = torch.nn.MultiheadAttention(width, heads)
        self.ln2 = torch.nn.LayerNorm(width)
        self.up = torch.nn.Linear(width, 4 * width)
        self.down = torch.nn.Linear(4 * width, width)

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attention(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.down(torch.nn.functional.gelu(self.up(self.ln2(x))))


class Gpt2(torch.nn.Module):
    def __init__(self, d, layers, heads, width, positions):
        super().__init__()
        self.read_in = torch.nn.Linear(d, width)
        self.position = torch.nn.Embedding(positions, width)
        self.blocks = torch.nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(width)
        self.read_out = torch.nn.Linear(width, 1)

    def forward(self, x, y):
        y_tokens = torch.zeros_like(x)
        y_tokens[:, :, 0] = y
        tokens = torch.stack([x, y_tokens], 2).flatten(1, 2)[:, :-1]
        t = tokens.shape[1]
        h = (self.read_in(tokens) + self.position(torch.arange(t, device=x.device))).transpose(0, 1)
        mask = torch.triu(torch.full((t, t), float("-inf"), device=x.device), 1)
        for block in self.blocks:
            h = block(h, mask)
        return self.read_out(self.ln_f(h)).squeeze(-1).transpose(0, 1)[:, ::2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["lsa", "gpt2"], default="lsa")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repetitions", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    steps = a.steps or (2000 if a.model == "lsa" else 50)
    g = torch.Generator().manual_seed(1)
    times = []
    for _ in range(a.repetitions):
        if a.model == "lsa":
            model, dtype = Lsa(D), torch.float64
        else:
            model, dtype = Gpt2(D, 3, 2, 64, 2 * (N + 1)), torch.float32
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        start = time.perf_counter()
        for _ in range(steps):
            x, y = batch_of(D, N, BATCH, g, dtype)
            opt.zero_grad()
            pred = model(x, y)
            loss = (0.5 if a.model == "lsa" else 1.0) * ((pred - (y[:, -1] if a.model == "lsa" else y)) ** 2).mean()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    prompts = steps * BATCH / median
    tokens = prompts * (N + 1 if a.model == "lsa" else 2 * N + 1)
    print(f"{a.model}: {median * 1e3 / steps:.3f} ms/step, {prompts:.0f} prompts/s, {tokens:.0f} tokens/s "
          f"(median of {a.repetitions}, {steps} steps, {a.threads} thread(s))")


if __name__ == "__main__":
    main()
