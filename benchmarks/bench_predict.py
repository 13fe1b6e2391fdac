"""Throughput of ``medms predict``: 2D images/s (BreastMNIST test images as DICOM) and 3D CT series/s
(generated 512×512×~300 series → ``ct_volume`` preset → 3D multi-scale ResNet-50), time split into
load / preprocess / model. Untrained weights: speed does not depend on them.

    python benchmarks/bench_predict.py --device cpu --n2d 156 --n3d 2 --repeats 3 --out docs/bench/predict_cpu.md
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from medms.engine.checkpoint import save_checkpoint

from medms.engine import predict
from medms.networks import build_network
from medms.synthetic import write_ct_phantom, write_image_dicom

ROOT = Path(__file__).resolve().parents[1]


def make_checkpoint(folder: Path, spatial_dims: int, preset: str, options: dict) -> Path:
    torch.manual_seed(0)
    model = build_network("multiscale_resnet50", spatial_dims=spatial_dims, in_channels=1, num_classes=2)
    path = folder / f"model{spatial_dims}d.pt"
    save_checkpoint(
        {
            "model": {"name": "multiscale_resnet50", "options": model.config},
            "preprocessing": {"preset": preset, "options": options},
            "class_names": ["negative", "positive"],
            "state_dict": model.state_dict(),
        },
        path,
    )
    return path


def write_2d(folder: Path, n: int) -> Path:
    with np.load(ROOT / "sample_data/medmnist/breastmnist.npz") as data:
        images = data["test_images"]
    out = folder / "dicom2d"
    out.mkdir()
    for i in range(n):
        write_image_dicom(
            images[i % len(images)], out / f"{i:05d}.dcm", series_uid=f"2.25.{10**20 + i}", seed=i
        )
    return out


def write_3d(folder: Path, n: int, slices: int) -> Path:
    out = folder / "dicom3d"
    for i in range(n):
        write_ct_phantom(out / f"s{i}", shape=(512, 512, slices), seed=i)
    return out


def timed(model: Path, inputs: Path, work: Path, repeats: int, **kwargs) -> list:
    runs = []
    for r in range(repeats):
        out = work / f"pred-{inputs.name}-{r}.csv"
        summary = predict(model, [inputs], out, progress=False, **kwargs)
        assert summary.failed == 0, summary.failures[:3]
        runs.append(summary)
    return runs


def row(label: str, runs: list, n: int, unit: str) -> str:
    med = lambda attr: statistics.median(getattr(s, attr) for s in runs)  # noqa: E731
    total = med("seconds_total")
    return (
        f"| {label} | {n} | {n / total:.2f} {unit}/s | {total:.2f} | {med('seconds_load'):.2f} | "
        f"{med('seconds_preprocess'):.2f} | {med('seconds_model'):.2f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--n2d", type=int, default=156)
    p.add_argument("--n3d", type=int, default=2)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--size3d", type=int, default=128, help="ct_volume preset output size (cube)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    lines = [
        f"device {args.device}, {torch.get_num_threads()} torch threads, {args.workers} loader workers, "
        f"median of {args.repeats} runs; load/preprocess are summed over worker processes (they overlap the model).",
        "",
        "| input | n | throughput | wall s | load s | preprocess s | model s |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ck2 = make_checkpoint(work, 2, "medmnist", {"spatial_size": 64})
        d2 = write_2d(work, args.n2d)
        runs = timed(
            ck2,
            d2,
            work,
            args.repeats,
            device=args.device,
            num_workers=args.workers,
            batch_size=args.batch_size,
        )
        lines.append(row("2D BreastMNIST DICOM → 64² multi-scale", runs, args.n2d, "img"))
        if args.n3d:
            ck3 = make_checkpoint(work, 3, "ct_volume", {"spatial_size": args.size3d})
            started = time.perf_counter()
            d3 = write_3d(work, args.n3d, args.slices)
            print(f"wrote {args.n3d} series in {time.perf_counter() - started:.1f} s")
            runs = timed(
                ck3, d3, work, args.repeats, device=args.device, num_workers=args.workers, batch_size=1
            )
            lines.append(
                row(f"3D CT 512²×{args.slices} → {args.size3d}³ multi-scale", runs, args.n3d, "series")
            )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
