"""Denoising benchmark: quality on real images with added noise, speed per 512² slice and 128³ volume.

CPU (default) needs medms' dependencies (pydicom, scikit-image, MONAI) and prints three tables:
quality (PSNR/SSIM before and after, per image, noise type and level), time per method, and the torch
bilateral filter against scikit-image's ``denoise_bilateral`` (speed ratio and PSNR between the outputs).

``--device cuda`` times only the pure-torch filters (bilateral, anisotropic diffusion) on the GPU and on
that machine's CPU; it needs nothing but torch and numpy (the filter module is loaded by file path, so
MONAI need not be installed there).

    python benchmarks/bench_denoise.py --out docs/bench/denoise_cpu.md
    python benchmarks/bench_denoise.py --device cuda --out denoise_gpu.md
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from _header import run_header

ROOT = Path(__file__).resolve().parents[1]
PYDICOM_DATA = ROOT / "sample_data" / "dicom" / "pydicom-data"


def load_filters():
    spec = importlib.util.spec_from_file_location(
        "medms_filters", ROOT / "medms" / "transforms" / "_filters.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_time(fn, repeats: int, device: str) -> float:
    fn()  # warm-up (allocations, CUDA kernels)
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def real_images() -> dict[str, np.ndarray]:
    import pydicom

    def unit(name: str, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        a = pydicom.dcmread(PYDICOM_DATA / name).pixel_array.astype(np.float64)[rows, cols]
        return (a - a.min()) / (a.max() - a.min())

    return {
        "CT 512² (693_UNCR)": unit("693_UNCR.dcm"),
        "MR 484² (MR-SIEMENS)": unit("MR-SIEMENS-DICOM-WithOverlays.dcm"),
        "US 512² crop (JPGLossless)": unit(
            "JPGLosslessP14SV1_1s_1f_8b.dcm", slice(128, 640), slice(256, 768)
        ),
    }


def noisy(clean: np.ndarray, sigma: float, kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "Gaussian":
        return clean + rng.normal(0.0, sigma, clean.shape)
    return np.hypot(clean + rng.normal(0.0, sigma, clean.shape), rng.normal(0.0, sigma, clean.shape))


def quality_table() -> list[str]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from medms.transforms import AnisotropicDiffusion, BilateralDenoise, NLMeansDenoise, TVDenoise

    methods = {
        "NLM": NLMeansDenoise(),
        "TV": TVDenoise(),
        "bilateral": BilateralDenoise(),
        "aniso. diff.": AnisotropicDiffusion(),
    }
    head = (
        "| image | noise | σ | noisy PSNR / SSIM | " + " | ".join(f"{m} PSNR / SSIM" for m in methods) + " |"
    )
    lines = ["### Quality (PSNR dB / SSIM against the clean image; σ estimated automatically)", "", head]
    lines.append("|" + "---|" * (4 + len(methods)))
    worst_gain = math.inf
    for name, clean in real_images().items():
        kinds = ["Gaussian", "Rician"] if name.startswith("MR") else ["Gaussian"]
        for kind in kinds:
            for sigma in (0.05, 0.1):
                x = noisy(clean, sigma, kind)

                def score(img, clean=clean):
                    img = np.asarray(img, dtype=np.float64)
                    p = peak_signal_noise_ratio(clean, img, data_range=1.0)
                    return p, structural_similarity(clean, img, data_range=1.0)

                p0, s0 = score(x)
                cells = []
                for t in methods.values():
                    p, s = score(t(x[None].astype(np.float32))[0])
                    worst_gain = min(worst_gain, p - p0)
                    cells.append(f"{p:.2f} / {s:.3f}")
                lines.append(
                    f"| {name} | {kind} | {sigma} | {p0:.2f} / {s0:.3f} | " + " | ".join(cells) + " |"
                )
    lines += ["", f"Smallest PSNR gain over the noisy input across all cases: {worst_gain:.2f} dB.", ""]
    return lines


def cpu_timing_table(repeats: int) -> list[str]:
    from medms.transforms import AnisotropicDiffusion, BilateralDenoise, NLMeansDenoise, TVDenoise

    rng = np.random.default_rng(0)
    slice2d = torch.as_tensor(rng.random((1, 512, 512)), dtype=torch.float32)
    vol = torch.as_tensor(rng.random((1, 128, 128, 128)), dtype=torch.float32)
    methods = {
        "NLM (2D; 3D: slice-wise)": NLMeansDenoise(sigma=0.1, slice_wise=True),
        "TV (Chambolle)": TVDenoise(sigma=0.1),
        "bilateral (torch, σs=1.5 2D, 1.0 3D)": None,
        "anisotropic diffusion (torch, 7 it.)": AnisotropicDiffusion(sigma=0.1),
    }
    lines = [
        f"### Time per image, CPU (median of {repeats}; σ given, so no estimate is included)",
        "",
        "| method | 512×512 slice (s) | 128³ volume (s) |",
        "|---|---|---|",
    ]
    for name, t in methods.items():
        t2 = t if t is not None else BilateralDenoise(sigma=0.1)
        t3 = t if t is not None else BilateralDenoise(sigma=0.1, sigma_spatial=1.0)
        s2 = median_time(lambda t2=t2: t2(slice2d), repeats, "cpu")
        s3 = median_time(lambda t3=t3: t3(vol), max(1, repeats // 2), "cpu")
        lines.append(f"| {name} | {s2:.4f} | {s3:.2f} |")
    return [*lines, ""]


def bilateral_vs_skimage(repeats: int) -> list[str]:
    from skimage.metrics import peak_signal_noise_ratio
    from skimage.restoration import denoise_bilateral

    bilateral = load_filters().bilateral
    clean = next(iter(real_images().values()))
    x = np.clip(noisy(clean, 0.05, "Gaussian"), 0.0, None)  # scikit-image needs x >= 0 for its LUT
    xt = torch.as_tensor(x, dtype=torch.float32)[None]
    lines = [
        f"### Torch bilateral vs scikit-image `denoise_bilateral`, 512² CT slice, σ=0.05 noise (median of {repeats})",
        "",
        "| torch threads | σ spatial | σ range | window | scikit-image (s) | medms torch (s) | speed-up "
        "| PSNR between outputs (dB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    default_threads = torch.get_num_threads()
    # scikit-image is single-threaded: one torch thread is the like-for-like comparison
    for threads, (ss, sr, r) in itertools.product(
        sorted({1, default_threads}), ((1.0, 0.1, 2), (1.5, 0.15, 3))
    ):
        torch.set_num_threads(threads)
        ref = denoise_bilateral(x, sigma_color=sr, sigma_spatial=ss, win_size=2 * r + 1, mode="edge")
        ours = bilateral(xt, sigma_spatial=ss, sigma_range=sr, radius=r)[0].numpy()
        t_sk = median_time(
            lambda ss=ss, sr=sr, r=r: denoise_bilateral(
                x, sigma_color=sr, sigma_spatial=ss, win_size=2 * r + 1, mode="edge"
            ),
            repeats,
            "cpu",
        )
        t_us = median_time(
            lambda ss=ss, sr=sr, r=r: bilateral(xt, sigma_spatial=ss, sigma_range=sr, radius=r),
            repeats,
            "cpu",
        )
        agree = peak_signal_noise_ratio(ref, ours.astype(np.float64), data_range=1.0)
        lines.append(
            f"| {threads} | {ss} | {sr} | {2 * r + 1}×{2 * r + 1} square (skimage) / radius-{r} disk (medms) "
            f"| {t_sk:.4f} | {t_us:.4f} | {t_sk / t_us:.1f}× | {agree:.1f} |"
        )
    torch.set_num_threads(default_threads)
    return [*lines, ""]


def device_timing_table(device: str, repeats: int) -> list[str]:
    f = load_filters()
    gen = torch.Generator().manual_seed(0)
    inputs = {
        "512×512 slice": torch.rand(1, 512, 512, generator=gen),
        "128³ volume": torch.rand(1, 128, 128, 128, generator=gen),
        "240×240×200 volume (CT preset after 1.5 mm spacing)": torch.rand(1, 240, 240, 200, generator=gen),
    }
    lines = [
        f"### Pure-torch filters, {device} vs this machine's CPU (median of {repeats})",
        "",
        f"| filter | input | CPU (s) | {device} (s) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for name, x in inputs.items():
        nd = x.ndim - 1
        filters = {
            "bilateral": lambda v, nd=nd: f.bilateral(
                v, sigma_spatial=1.5 if nd == 2 else 1.0, sigma_range=0.3, radius=3 if nd == 2 else 2
            ),
            "anisotropic diffusion (7 it.)": lambda v, nd=nd: f.perona_malik(
                v, iterations=7, kappa=0.2, gamma=0.9 / (2 * nd), option="exponential"
            ),
        }
        for fname, fn in filters.items():
            on_dev = x.to(device)
            t_cpu = median_time(lambda fn=fn, x=x: fn(x), max(1, repeats // 2), "cpu")
            t_dev = median_time(lambda fn=fn, v=on_dev: fn(v), repeats, device)
            lines.append(f"| {fname} | {name} | {t_cpu:.4f} | {t_dev:.5f} | {t_cpu / t_dev:.0f}× |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    header = run_header(args.device)
    if args.device == "cuda":
        body = device_timing_table("cuda", args.repeats)
    else:
        body = quality_table() + cpu_timing_table(args.repeats) + bilateral_vs_skimage(args.repeats)
    text = "\n".join(header + body)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
