"""Preset benchmark: the CT volume preset on a generated series, and the MedMNIST preset per sample.

1. ``ct_volume`` (load → RAS → 1.5 mm → body crop → soft-tissue window → torch bilateral → 128³) on a generated
   512×512×300 CT series, seconds per series (median of ``--repeats``), against the equivalent all-MONAI
   Compose in the same run (``CropForegroundd`` instead of the body crop, ``ScaleIntensityRanged`` instead of
   the window, ``GaussianSmoothd`` instead of the bilateral filter; same loader, since MONAI has none that
   reads DICOM series correctly — see docs/design.md), plus a per-step breakdown of the medms preset.
2. ``medmnist`` on BreastMNIST 28×28 arrays, µs per sample, with and without augmentation, with one torch
   thread (what a DataLoader worker uses) and with the default thread count.

``--device cuda`` moves the volume to the GPU right after loading, so every torch step after it runs there
(needs MONAI and pydicom on that machine).

    python benchmarks/bench_preset.py --out docs/bench/preset_cpu.md
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _header import run_header
from monai.transforms import (
    Compose,
    CropForegroundd,
    EnsureTyped,
    GaussianSmoothd,
    Orientationd,
    Resized,
    ResizeWithPadOrCropd,
    ScaleIntensityRanged,
    Spacingd,
)

from medms.synthetic import write_ct_phantom
from medms.transforms import LoadSeriesd
from medms.transforms.presets import RAS_LABELS, ct_volume, medmnist

ROOT = Path(__file__).resolve().parents[1]


def above_air(x: torch.Tensor) -> torch.Tensor:
    return x > -500.0


def monai_equivalent(size: int = 128) -> Compose:
    return Compose(
        [
            LoadSeriesd("image"),
            Orientationd("image", axcodes="RAS", labels=RAS_LABELS),
            Spacingd("image", pixdim=(1.5, 1.5, 1.5), mode="bilinear"),
            CropForegroundd("image", source_key="image", select_fn=above_air, margin=2),
            ScaleIntensityRanged("image", a_min=-150.0, a_max=250.0, b_min=0.0, b_max=1.0, clip=True),
            GaussianSmoothd("image", sigma=1.0),
            Resized("image", spatial_size=size, size_mode="longest", mode="area"),
            ResizeWithPadOrCropd("image", spatial_size=(size,) * 3),
            EnsureTyped("image", dtype=torch.float32),
        ]
    )


def on_device(pipeline: Compose, device: str) -> Compose:
    if device == "cpu":
        return pipeline
    steps = list(pipeline.transforms)
    return Compose([steps[0], EnsureTyped("image", device=torch.device(device), track_meta=True), *steps[1:]])


def timed(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def ct_section(shape: tuple[int, int, int], repeats: int, device: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="medms_bench_") as tmp:  # ~150 MB of DICOM, removed afterwards
        return _ct_section(Path(tmp), shape, repeats, device)


def _ct_section(folder: Path, shape: tuple[int, int, int], repeats: int, device: str) -> list[str]:
    t0 = time.perf_counter()
    write_ct_phantom(folder, shape=shape, spacing=(0.7, 0.7, 1.0))
    t_write = time.perf_counter() - t0
    pipelines = {
        "medms `ct_volume()`": ct_volume(),
        "all-MONAI equivalent (Gaussian σ=1)": monai_equivalent(),
    }
    results = {}
    for name, p in pipelines.items():
        p = on_device(p, device)
        p({"image": str(folder)})  # warm-up: page cache, allocator, kernels
        results[name] = statistics.median(
            timed(lambda p=p: p({"image": str(folder)}), device) for _ in range(repeats)
        )
    base = results["all-MONAI equivalent (Gaussian σ=1)"]
    lines = [
        f"### CT volume preset, generated {shape[0]}×{shape[1]}×{shape[2]} series (0.7×0.7×1.0 mm), {device}",
        "",
        f"Series written in {t_write:.1f} s (not counted). Median of {repeats} runs after one warm-up.",
        "",
        "| pipeline | s / series | ratio to all-MONAI |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {t:.2f} | {t / base:.2f} |" for name, t in results.items()]
    lines += ["", "Per-step time of the medms preset (one run):", "", "| step | s |", "|---|---|"]
    data: dict = {"image": str(folder)}
    for step in on_device(ct_volume(), device).transforms:
        dt = timed(lambda step=step: data.update(step(data)), device)
        lines.append(f"| {type(step).__name__} | {dt:.3f} |")
    lines.append(f"| output shape | {tuple(data['image'].shape)} |")
    return [*lines, ""]


def medmnist_section(repeats: int, n: int = 200) -> list[str]:
    images = np.load(ROOT / "sample_data" / "medmnist" / "breastmnist.npz")["train_images"][:n]
    default_threads = torch.get_num_threads()
    lines = [
        f"### MedMNIST preset, BreastMNIST 28×28 uint8 → 64×64 (µs per sample, median of {repeats} × {n})",
        "",
        "| torch threads | augment=False | augment=True |",
        "|---|---|---|",
    ]
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        cells = []
        for augment in (False, True):
            p = medmnist(augment=augment).set_random_state(seed=0)
            for img in images[:20]:
                p({"image": img, "label": 0})
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for img in images:
                    p({"image": img, "label": 0})
                runs.append((time.perf_counter() - t0) / n * 1e6)
            cells.append(f"{statistics.median(runs):.0f}")
        lines.append(f"| {threads} | " + " | ".join(cells) + " |")
    torch.set_num_threads(default_threads)
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--shape", type=int, nargs=3, default=(512, 512, 300), metavar=("ROWS", "COLS", "SLICES")
    )
    parser.add_argument("--skip-medmnist", action="store_true")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    header = run_header(args.device)
    body = ct_section(tuple(args.shape), args.repeats, args.device)
    if not args.skip_medmnist:
        body += medmnist_section(max(args.repeats, 5))
    text = "\n".join(header + body)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
