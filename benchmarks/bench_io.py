"""Benchmark of medms.io: series reading vs MONAI's PydicomReader and a bare pydicom loop; header scanning speed.

All methods read the same generated files in the same run (after one warm-up each, so the page cache is warm
for everyone); times are medians of ``--runs`` runs. Peak memory is measured in a fresh subprocess per method
as the growth of the process's peak resident set (VmHWM) over its resident set just before the read.

Usage:
    python benchmarks/bench_io.py                      # 300 slices of 512x512, 10,000 files scanned
    python benchmarks/bench_io.py --slices 60 --scan-files 1000 --runs 3 --out docs/bench/io.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom


def _read_medms(folder: Path, workers: int | None = None) -> np.ndarray:
    from medms.io import read_series

    return read_series(folder, workers=workers).array


def _read_monai(folder: Path) -> object:
    from monai.transforms import LoadImage

    return LoadImage(reader="PydicomReader", image_only=True)(str(folder))


def _read_bare(folder: Path) -> list[np.ndarray]:
    return [pydicom.dcmread(f).pixel_array for f in sorted(folder.iterdir())]


METHODS: dict[str, Callable[[Path], object]] = {
    "medms read_series": _read_medms,
    "medms read_series (workers=1)": lambda folder: _read_medms(folder, workers=1),
    "bare pydicom loop (dcmread + pixel_array)": _read_bare,
    'MONAI LoadImage(reader="PydicomReader")': _read_monai,
}


def _median_times(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds per function; runs are interleaved (one of each per round) so that background load on a
    shared machine affects every method alike. One warm-up round first (page cache, imports, decoders)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(runs + 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def _peak_memory_child(method: str, folder: Path) -> None:
    """Run in a subprocess: print the peak RSS growth (bytes) caused by one read."""
    METHODS[method](folder.parent / "warmup")  # imports and decoder set-up are not part of the read
    before = _status_kib("VmRSS")
    result = METHODS[method](folder)
    print((_status_kib("VmHWM") - before) * 1024)
    del result


def _peak_memory(method: str, folder: Path) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", method, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def _write_scan_files(folder: Path, n: int) -> None:
    """``n`` small single-slice CT files (16x16) in 100 series: header scanning does not depend on image size."""
    from medms.synthetic import write_ct_phantom

    per_series = max(n // 100, 1)
    for s in range(0, n, per_series):
        write_ct_phantom(folder / f"s{s:05d}", shape=(16, 16, min(per_series, n - s)), seed=s, noise_hu=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scan-files", type=int, default=10_000)
    parser.add_argument("--skip-monai", action="store_true", help="leave out MONAI's PydicomReader (slow)")
    parser.add_argument("--out", type=Path, help="also write the markdown table to this file")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _peak_memory_child(args.memory_child[0], Path(args.memory_child[1]))
        return 0

    from medms.synthetic import write_ct_phantom

    with tempfile.TemporaryDirectory(prefix="medms-bench-") as tmp:
        root = Path(tmp)
        series = root / "series"
        write_ct_phantom(series, shape=(args.size, args.size, args.slices))
        write_ct_phantom(root / "warmup", shape=(16, 16, 2))
        output_bytes = args.size * args.size * args.slices * 4
        methods = [m for m in METHODS if not (args.skip_monai and m.startswith("MONAI"))]
        # MONAI's reader allocates ~5x the output per call; timed in its own block so that its memory churn
        # (page reclaim, huge-page compaction) does not land on the other methods' timings.
        fast = [m for m in methods if not m.startswith("MONAI")]
        medians = _median_times({name: lambda name=name: METHODS[name](series) for name in fast}, args.runs)
        for name in [m for m in methods if m not in fast]:
            medians.update(_median_times({name: lambda name=name: METHODS[name](series)}, args.runs))
        rows = [(name, medians[name], _peak_memory(name, series)) for name in methods]
        bare = medians["bare pydicom loop (dcmread + pixel_array)"]

        scan_dir = root / "scan"
        _write_scan_files(scan_dir, args.scan_files)
        files = sorted(p for p in scan_dir.rglob("*") if p.is_file())

        from medms.io import scan_dicom

        scan = _median_times(
            {
                "scan": lambda: scan_dicom(scan_dir),
                "bare": lambda: [pydicom.dcmread(f, stop_before_pixels=True) for f in files],
            },
            max(args.runs // 2, 1),
        )
        scan_s, hdr_s = scan["scan"], scan["bare"]

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {_cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}, pydicom {pydicom.__version__}; "
        f"load average at the end: {load}.",
        f"Command: `python benchmarks/bench_io.py --slices {args.slices} --size {args.size} --runs {args.runs} "
        f"--scan-files {args.scan_files}`",
        "",
        f"Series read: {args.slices} slices of {args.size}x{args.size} int16 CT (output {output_bytes / 2**20:.0f} MiB "
        "float32); median of interleaved runs; peak memory = peak RSS growth during one read in a fresh process.",
        "",
        "| method | median s | time / bare loop | time / medms | peak memory MiB | peak / output |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    medms_s = medians["medms read_series"]
    for name, seconds, peak in rows:
        lines.append(
            f"| {name} | {seconds:.3f} | {seconds / bare:.2f}x | {seconds / medms_s:.1f}x | {peak / 2**20:.0f} | "
            f"{peak / output_bytes:.2f} |"
        )
    lines += [
        "",
        f"Header scan of {len(files):,} files (16x16 CT, 100 series):",
        "",
        "| method | median s | files/s |",
        "|---|---:|---:|",
        f"| medms scan_dicom | {scan_s:.2f} | {len(files) / scan_s:,.0f} |",
        f"| bare pydicom dcmread(stop_before_pixels=True) loop | {hdr_s:.2f} | {len(files) / hdr_s:,.0f} |",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")
    return 0


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
