"""Does icl-sweep's GPT-2 learn as fast as an independent PyTorch one? The same model size,
optimizer, steps and batch, trained from Python (bench/torch_reference.py's Gpt2: pre-LayerNorm
blocks of torch.nn.MultiheadAttention and a GELU MLP, PyTorch's default initialisation,
torch.optim.Adam) and by the program, over several seeds each; both are evaluated at M = N on
isotropic Gaussian prompts (w ~ N(0, I_d), no noise), as error / E[y_q^2]. Prints each seed, the
mean with its 95% t interval across seeds, and whether the program's mean lies inside Python's.
    /usr/bin/python3 bench/gpt2_learning.py [--program build/icl-sweep] [--seeds 5] [--steps 3000]
        [--init paper] [--python-only | --program-only]"""
import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import icl_sweep  # noqa: E402
from icl_sweep.intervals import interval  # noqa: E402
from torch_reference import Gpt2, batch_of  # noqa: E402

TEST_PROMPTS = 20000


def gpt2_init(model, layers, backbone_only):
    """GPT-2's initialisation (HuggingFace's GPT2Model): N(0, 0.02^2) weights, the residual
    projections further / sqrt(2 layers), zero biases, unit LayerNorm gains; backbone_only leaves
    the read-in and read-out at PyTorch's defaults, as Garg et al.'s model does."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if backbone_only and name.startswith(("read_in", "read_out")):
                continue
            if p.dim() >= 2:
                p.normal_(0.0, 0.02)
                if name.endswith(("out_proj.weight", "down.weight")):
                    p.div_((2.0 * layers) ** 0.5)
            elif "ln" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()


def python_run(seed, a):
    """Train one seed in PyTorch; its error at M = N on held-out prompts, over E[y^2] = d."""
    torch.manual_seed(seed)
    model = Gpt2(a.d, a.layers, a.heads, a.width, 2 * (a.n + 1))
    if a.python_init != "torch":
        gpt2_init(model, a.layers, backbone_only=a.python_init == "garg")
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    data = torch.Generator().manual_seed(1000 + seed)
    for _ in range(a.steps):
        x, y = batch_of(a.d, a.n, a.batch, data, torch.float32)
        opt.zero_grad()
        loss = ((model(x, y) - y) ** 2).mean()  # every x position of the prompt (Garg et al.)
        loss.backward()
        opt.step()
    test = torch.Generator().manual_seed(99)  # the same test prompts for every seed
    errors = []
    with torch.no_grad():
        for _ in range(TEST_PROMPTS // 1000):
            x, y = batch_of(a.d, a.n, 1000, test, torch.float32)
            errors.append(((model(x, y)[:, a.n] - y[:, a.n]) ** 2).double().numpy())
    return float(np.concatenate(errors).mean()) / a.d


def program_runs(a):
    """The same runs through the program, init_seed 0 .. seeds - 1; one error per seed."""
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "gpt2_learning.ini")
        with open(ini, "w") as f:
            f.write(f"""[sweep]
name = gpt2_learning
seed = 1
output = {os.path.join(tmp, "gpt2_learning.h5")}

[grid]
d = {a.d}
n_train = {a.n}
spectrum = isotropic
sigma = 0.01
init_seed = 0:{a.seeds - 1}:1
model = gpt2({a.layers}, {a.heads}, {a.width})

[train]
steps = {a.steps}
lr = {a.lr}
batch = {a.batch}
optimizer = adam
lr_schedule = constant
init = {a.init}

[eval]
m_test = n
shift = none
mc_prompts = {TEST_PROMPTS}
target_rel_se = 0
""")
        subprocess.run([a.program, "--config", ini], check=True, stdout=subprocess.DEVNULL)
        df = icl_sweep.load(os.path.join(tmp, "gpt2_learning.h5")).sort_values("init_seed")
        return list(df["risk_model_mc"] / df["risk_zero"])


def show(name, values):
    mean, half, _ = interval(values)
    print(f"{name}: " + " ".join(f"{v:.4f}" for v in values) + f"; mean {mean:.4f} +- {half:.4f} (95% t, {len(values)} seeds)")
    return mean, half


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", default="build/icl-sweep")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--d", type=int, default=2)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--init", default="paper", help="the program's train.init")
    p.add_argument("--python-init", choices=["torch", "gpt2", "garg"], default="torch",
                   help="PyTorch's defaults; GPT-2's everywhere; GPT-2's with PyTorch's read-in and read-out (Garg et al.)")
    p.add_argument("--python-only", action="store_true")
    p.add_argument("--program-only", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"gpt2({a.layers}, {a.heads}, {a.width}), d = {a.d}, N = M = {a.n}, Adam {a.lr:g} constant, "
          f"{a.steps} steps of {a.batch} prompts; error / E[y^2] at M = N on {TEST_PROMPTS} prompts")
    ours = None if a.python_only else show(f"icl-sweep (init {a.init})", program_runs(a))
    theirs = None if a.program_only else show(f"PyTorch (init {a.python_init})", [python_run(s, a) for s in range(a.seeds)])
    if ours and theirs:
        inside = abs(ours[0] - theirs[0]) <= theirs[1]
        print(f"icl-sweep's mean is {'inside' if inside else 'outside'} PyTorch's interval")


if __name__ == "__main__":
    main()
