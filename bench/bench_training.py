"""Training throughput of the stream models (forward + backward + Nadam step), in samples/s.

Prints, for every Sentinel-2 model (batch 64 chips of 32×32×10) and the GCN (batch 32 graphs
of up to 50 nodes, the SAM mask cap), the trainable parameter count and the training throughput
on the CPU and, when available, on CUDA. Random inputs; no files are read or written.

Then, on the CPU, the demo's network (3D ResNet11 at ``base_width`` 8, batch 64) as the train job
runs it — in ``deterministic()`` mode, augmented batches, the loop's per-step loss/accuracy — in
two settings of this one process, alternated round by round so that the load of the machine
weighs on both alike:

* ``before``: the settings of the code before the CPU work of 2026-12: deterministic mode fills
  every new tensor with NaN, and glibc returns blocks above 32 MiB to the system at every free
  (its default steady state: mmap threshold 32 MiB, trim threshold 64 MiB);
* ``after``: the train job's settings now (``training.runtime.keep_freed_memory`` and no NaN fill,
  ``training.determinism.deterministic``).

The maths is the same in both (the trained weights are byte-identical); the line reads
``demo width 8: before X samples/s, after Y samples/s, ratio Z`` (median over the rounds).

Usage:
    .venv/bin/python bench/bench_training.py                 # paper widths, CPU (+ CUDA), demo line
    .venv/bin/python bench/bench_training.py --base-width 16 --steps 5 --device cpu
    .venv/bin/python bench/bench_training.py --device cpu --models --demo-rounds 5   # GCN + demo line
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from df4lcz.constants import S2_MODEL_NAMES
from df4lcz.models import LCZGCN, build_s2_model, count_trainable_parameters
from df4lcz.pyg import Batch, Data
from df4lcz.training.determinism import deterministic
from df4lcz.training.loop import NADAM_EPS
from df4lcz.training.runtime import keep_freed_memory
from df4lcz.training.s2 import augment_batch

S2_BATCH = 64
DEMO_WIDTH = 8  # train.s2.base_width of config.yaml
GCN_BATCH = 32
MAX_NODES = 50  # SAM masks kept per chip
NODE_FEATURES = 5


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_s2(name: str, base_width: int, device: torch.device, steps: int, warmup: int) -> tuple[int, float]:
    """(parameters, training samples/s) of S2 model ``name`` on random ``(64, 32, 32, 10)`` batches."""
    torch.manual_seed(0)
    model = build_s2_model(name, base_width=base_width).to(device).train()
    opt = torch.optim.NAdam(model.parameters(), lr=0.002)
    x = torch.randn(S2_BATCH, 32, 32, 10, device=device)
    y = torch.randint(0, 17, (S2_BATCH,), device=device)
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return count_trainable_parameters(model), steps * S2_BATCH / (time.perf_counter() - t0)


def _random_batch(gen: torch.Generator) -> Batch:
    graphs = []
    for _ in range(GCN_BATCH):
        n = int(torch.randint(5, MAX_NODES + 1, (1,), generator=gen))
        src = torch.randint(0, n, (3 * n,), generator=gen)
        dst = torch.randint(0, n, (3 * n,), generator=gen)
        keep = src != dst
        ei = torch.unique(
            torch.cat([torch.stack([src[keep], dst[keep]]), torch.stack([dst[keep], src[keep]])], 1), dim=1
        )
        graphs.append(
            Data(
                x=torch.rand(n, NODE_FEATURES, generator=gen),
                edge_index=ei,
                y=torch.randint(0, 17, (1,), generator=gen),
            )
        )
    return Batch.from_data_list(graphs)


def bench_gcn(device: torch.device, steps: int, warmup: int) -> tuple[int, float]:
    """(parameters, training graphs/s) of the default GCN on random batches of 32 graphs."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    batches = [_random_batch(gen).to(device) for _ in range(4)]
    model = LCZGCN().to(device).train()
    opt = torch.optim.NAdam(model.parameters(), lr=0.01)
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        b = batches[i % len(batches)]
        loss = F.cross_entropy(model(b.x, b.edge_index, b.batch, b.num_graphs), b.y, reduction="sum")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return count_trainable_parameters(model), steps * GCN_BATCH / (time.perf_counter() - t0)


def _glibc_default_heap() -> None:
    """glibc's steady state without ``keep_freed_memory``: blocks > 32 MiB mmapped, heap trimmed above 64 MiB."""
    if sys.platform.startswith("linux"):
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: glibc's largest dynamic threshold
        mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD: twice the mmap threshold, as glibc sets it


def bench_demo(steps: int, rounds: int) -> tuple[float, float]:
    """Median training samples/s of the demo network, (before, after) (see the module docstring)."""
    device = torch.device("cpu")
    gen_data = torch.Generator().manual_seed(0)
    x = torch.randn(S2_BATCH * 4, 32, 32, 10, generator=gen_data)
    y = torch.randint(0, 17, (S2_BATCH * 4,), generator=gen_data)
    rates: dict[str, list[float]] = {"before": [], "after": []}
    with deterministic(0, device) as gen:
        model = build_s2_model("resnet11_3d", base_width=DEMO_WIDTH).train()
        opt = torch.optim.NAdam(model.parameters(), lr=0.002, eps=NADAM_EPS)

        def run(n: int) -> float:
            t0 = time.perf_counter()
            loss_sum, correct = 0.0, 0
            for _ in range(n):
                idx = torch.randperm(len(x), generator=gen)[:S2_BATCH]
                xb, yb = augment_batch(x[idx], gen), y[idx]
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach()) * S2_BATCH
                correct += int((logits.detach().argmax(1) == yb).sum())
            return n * S2_BATCH / (time.perf_counter() - t0)

        run(1)
        for _ in range(rounds):
            for mode in rates:
                if mode == "before":
                    torch.utils.deterministic.fill_uninitialized_memory = True
                    _glibc_default_heap()
                else:
                    torch.utils.deterministic.fill_uninitialized_memory = False
                    keep_freed_memory()
                run(1)  # settle the heap of this setting
                rates[mode].append(run(steps))
    _glibc_default_heap()
    return statistics.median(rates["before"]), statistics.median(rates["after"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-width", type=int, default=64, help="S2 model width (64 = paper)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model (CPU; CUDA uses 10×)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    parser.add_argument("--models", nargs="*", default=list(S2_MODEL_NAMES), choices=list(S2_MODEL_NAMES))
    parser.add_argument(
        "--demo-rounds",
        type=int,
        default=3,
        help="alternated before/after rounds of the demo line (0 = skip it); each round times "
        "--steps steps per setting",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's, one per core; a train job uses its rule's threads)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = []
    if args.device in ("all", "cpu"):
        devices.append(torch.device("cpu"))
    if args.device in ("all", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(
        f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, "
        f"CUDA {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}"
    )
    print(f"{'model':<14}{'width':>6}{'params':>12}{'device':>8}{'batch':>7}{'train samples/s':>18}")
    for dev in devices:
        steps = args.steps * (10 if dev.type == "cuda" else 1)
        for name in args.models:
            params, rate = bench_s2(name, args.base_width, dev, steps, warmup=1 if dev.type == "cpu" else 5)
            print(
                f"{name:<14}{args.base_width:>6}{params:>12,}{dev.type:>8}{S2_BATCH:>7}{rate:>18.1f}",
                flush=True,
            )
        params, rate = bench_gcn(dev, steps * 10, warmup=3)
        print(f"{'gcn':<14}{32:>6}{params:>12,}{dev.type:>8}{GCN_BATCH:>7}{rate:>18.1f}", flush=True)
    if args.demo_rounds > 0 and args.device in ("all", "cpu"):
        before, after = bench_demo(max(args.steps, 2), args.demo_rounds)
        print(
            f"demo width {DEMO_WIDTH}: before {before:.1f} samples/s, after {after:.1f} samples/s, "
            f"ratio {after / before:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
