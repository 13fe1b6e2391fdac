"""Cost of the multi-scale ResNet-50 against the plain ResNet-50 (same trunk), measured in one run.

Sections (printed as markdown, also written to --out):
  1. parameters and forward FLOPs (torch.utils.flop_counter, on the meta device) at 2D 224² and 3D 96³;
  2. inference throughput (and, with --train or on CUDA, training throughput) in images/s at --sizes,
     plain and multi-scale measured alternately in the same process, median of --repeats runs, ratio
     multi-scale / plain, and on CUDA the model-FLOP utilisation (img/s × FLOPs ÷ --peak-flops; training
     FLOPs ≈ 3 × forward).

Examples:
    python benchmarks/bench_network.py --device cpu --sizes 224 64 --batch 8 --out /tmp/cpu.md
    python benchmarks/bench_network.py --device cuda --batch 256 --sizes 224 --out /tmp/gpu.md [--compile]

Needs only torch (no MONAI): the repository root is put on sys.path so no install is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medms.networks import multiscale_resnet50, resnet50

MODELS = {"plain ResNet-50": resnet50, "multi-scale (default)": multiscale_resnet50}
AUX_WEIGHT = 0.3


def count(factory, spatial_dims: int, size: int) -> tuple[int, int]:
    """(parameters, forward FLOPs per image) on the meta device: no memory, no compute."""
    with torch.device("meta"):
        model = factory(spatial_dims=spatial_dims).eval()
        x = torch.empty(1, 1, *([size] * spatial_dims))
    with FlopCounterMode(display=False) as counter:
        model(x)
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model, x, y, *, train: bool, device: torch.device, amp: bool, compile_: bool):
    """A closure running one inference batch or one training step (forward, backward, SGD update)."""
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    )
    fwd = torch.compile(model) if compile_ else model
    if not train:
        model.eval()

        def infer():
            with torch.inference_mode(), autocast:
                return fwd(x)

        return infer
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step():
        with autocast:
            out = fwd(x, return_all=True)
            loss = F.cross_entropy(out["logits"], y)
            aux = out["aux_logits"]
            if aux.shape[1] > 1:  # deep supervision of every head, as the training engine does
                loss = loss + AUX_WEIGHT * F.cross_entropy(
                    aux.flatten(0, 1), y.repeat_interleave(aux.shape[1])
                )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def throughput(args, size: int, train: bool) -> dict[str, float]:
    """Median images/s per model; the models alternate within each repeat so drifts hit both alike."""
    device = torch.device(args.device)
    steps = {}
    for name, factory in MODELS.items():
        torch.manual_seed(0)
        model = factory(spatial_dims=2).to(device)
        x = torch.randn(args.batch, 1, size, size, device=device)
        y = torch.randint(0, 2, (args.batch,), device=device)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        steps[name] = make_step(model, x, y, train=train, device=device, amp=args.amp, compile_=args.compile)
    for step in steps.values():  # warm-up: allocator, cuDNN/oneDNN autotuning, compilation
        for _ in range(args.warmup):
            step()
    sync(device)
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.iters):
                step()
            sync(device)
            rates[name].append(args.batch * args.iters / (time.perf_counter() - t0))
    return {name: statistics.median(r) for name, r in rates.items()}


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--sizes", type=int, nargs="+", default=[224], help="2D input sizes for throughput")
    p.add_argument("--batch", type=int, default=None, help="default 8 on CPU, 256 on CUDA")
    p.add_argument("--iters", type=int, default=None, help="batches per timed run (default 3 CPU, 20 CUDA)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per model; the median is reported")
    p.add_argument(
        "--warmup", type=int, default=None, help="untimed batches per model (default 1 CPU, 10 CUDA)"
    )
    p.add_argument("--train", action="store_true", help="also time training steps (always on CUDA)")
    p.add_argument("--compile", action="store_true", help="torch.compile the models")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument(
        "--peak-flops", type=float, default=790e12, help="for MFU: dense bf16 peak (H100 ≈ 790e12)"
    )
    p.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = p.parse_args(argv)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        p.error("--device cuda but torch.cuda.is_available() is False")
    args.batch = args.batch or (256 if cuda else 8)
    args.iters = args.iters or (20 if cuda else 3)
    args.warmup = args.warmup if args.warmup is not None else (10 if cuda else 1)
    args.amp = args.channels_last = cuda  # bf16 autocast + channels_last on the GPU, fp32 on the CPU
    args.train = args.train or cuda
    if args.threads:
        torch.set_num_threads(args.threads)
    if cuda:
        torch.backends.cudnn.benchmark = True

    hw = torch.cuda.get_device_name() if cuda else cpu_name()
    lines = [
        f"Machine: {hw}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads.",
        f"Command: `python {' '.join(['benchmarks/bench_network.py', *(argv or sys.argv[1:])])}`",
        "",
        "| model | params (M) | GFLOPs 2D 224² | ratio | GFLOPs 3D 96³ | ratio |",
        "|---|---|---|---|---|---|",
    ]
    base = {}
    for name, factory in MODELS.items():
        params, f2 = count(factory, 2, 224)
        _, f3 = count(factory, 3, 96)
        base.setdefault("2", f2)
        base.setdefault("3", f3)
        lines.append(
            f"| {name} | {params / 1e6:.2f} | {f2 / 1e9:.2f} | {f2 / base['2']:.3f}× "
            f"| {f3 / 1e9:.1f} | {f3 / base['3']:.3f}× |"
        )
    mode = "bf16 autocast, channels_last" if cuda else "fp32"
    mode += ", torch.compile" if args.compile else ", eager"
    lines += [
        "",
        f"Throughput ({mode}, batch {args.batch}, median of {args.repeats} runs × {args.iters} batches):",
        "",
        "| input | pass | plain img/s | multi-scale img/s | ratio | plain MFU | multi-scale MFU |",
        "|---|---|---|---|---|---|---|",
    ]
    plain, ms = MODELS
    for size in args.sizes:
        for train in (False, True) if args.train else (False,):
            rates = throughput(args, size, train)
            mult = 3.0 if train else 1.0
            size_flops = {n: count(MODELS[n], 2, size)[1] for n in rates}
            mfu = {n: rates[n] * size_flops[n] * mult / args.peak_flops if cuda else None for n in rates}
            fmt = {n: f"{v:.1%}" if v is not None else "–" for n, v in mfu.items()}
            lines.append(
                f"| {size}² | {'training' if train else 'inference'} | {rates[plain]:,.1f} | {rates[ms]:,.1f} "
                f"| {rates[ms] / rates[plain]:.2f} | {fmt[plain]} | {fmt[ms]} |"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()
