"""``medms predict`` over messy trees of two sizes: exact outcome counts, time, and peak RSS (bounded memory).

Each size runs in a fresh ``medms predict`` process (``--workers 0``: one process, so its peak RSS is the whole
job's); the peak RSS is ``ru_maxrss`` of that child. An untrained 2D network (CT/MR slice preset, 32²): speed and
memory do not depend on the weights.

    python benchmarks/bench_messy.py --blocks 10 40 --json bench-out/messy.json
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from medms.engine.checkpoint import save_checkpoint

from medms.networks import build_network
from medms.testing.messy import FAILED_CASES, OK_CASES, SKIPPED_CASES, write_messy_tree


def _checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    model = build_network("multiscale_resnet50", spatial_dims=2, in_channels=1, num_classes=2)
    save_checkpoint(
        {
            "model": {"name": "multiscale_resnet50", "options": model.config},
            "preprocessing": {"preset": "ct_mr_slice", "options": {"spatial_size": 32}},
            "class_names": ["negative", "positive"],
            "state_dict": model.state_dict(),
        },
        path,
    )
    return path


def _child_peak_rss_mib(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd`` as the only child started since the last call; its peak RSS (MiB), seconds and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # ru_maxrss is a maximum over all children: a smaller run must come first
        raise SystemExit("run the sizes in increasing order (ru_maxrss is the maximum over all children)")
    return peak / 1024, seconds, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, nargs="+", default=[10, 40], help="tree sizes, increasing")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = _checkpoint(Path(tmp) / "model.pt")
        for n in sorted(args.blocks):
            tree = write_messy_tree(Path(tmp) / f"tree{n}", n_blocks=n)
            out = Path(tmp) / f"pred{n}.csv"
            cmd = [sys.executable, "-m", "medms.cli", "predict", "--model", str(ckpt), "--input", str(tree.root),
                   "--output", str(out), "--batch-size", str(args.batch_size), "--workers", "0", "--device", "cpu",
                   "--no-progress"]  # fmt: skip
            peak, seconds, line = _child_peak_rss_mib(cmd)
            with open(out, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            ok = {r["id"] for r in rows if r["status"] == "ok"}
            failed = {r["id"]: r["error"].split(":")[0] for r in rows if r["status"] == "failed"}
            exact = (
                ok == set(tree.ok)
                and failed == {uid: err for uid, (_, err) in tree.failed.items()}
                and len(rows) == len({r["id"] for r in rows})
                and f"{len(SKIPPED_CASES) * n} file(s) not classifiable" in line
            )
            results.append(
                {
                    "blocks": n,
                    "files": tree.n_files,
                    "series": len(rows),
                    "ok": len(ok),
                    "failed": len(failed),
                    "skipped_files": len(tree.skipped),
                    "expected": [len(OK_CASES) * n, len(FAILED_CASES) * n, len(SKIPPED_CASES) * n],
                    "counts_exact": exact,
                    "seconds": round(seconds, 1),
                    "peak_rss_mib": round(peak, 1),
                    "summary": line,
                }
            )
            print(json.dumps(results[-1]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
