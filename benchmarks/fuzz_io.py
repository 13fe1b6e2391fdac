"""Long fuzzing run of the DICOM reader: mutated real files through ``scan_dicom`` + ``read_series``.

Every input is a real file from ``sample_data/dicom`` (< 256 kB) with 1-4 byte mutations
(:mod:`medms.testing.fuzz`); only ``medms.errors`` exceptions may escape. Inputs are derived from
``(seed, index)``, so any input can be regenerated from its index. One worker process (the CPU is shared); the
parent restarts it if it dies (a segfault in a decoder is counted as a crash with its index). Untyped exceptions
are counted by (type, file, line) and their inputs written under ``--failures``.

    python benchmarks/fuzz_io.py --inputs 100000 --max-seconds 1800 --json bench-out/fuzz_io.json
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import multiprocessing as mp
import os
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from medms.testing.fuzz import FuzzHang, check_bytes, mutate, random_ops, seed_files

ROOT = Path(__file__).resolve().parents[1]


def _input(datas: list[bytes], seed: int, index: int) -> tuple[int, list, bytes]:
    rng = np.random.default_rng([seed, index])
    k = int(rng.integers(len(datas)))
    ops = random_ops(rng)
    return k, ops, mutate(datas[k], ops)


def _worker(args: argparse.Namespace, start: int, progress: str, results: mp.Queue) -> None:
    logging.disable(logging.CRITICAL)  # pydicom/medms warnings about damaged files are expected here
    warnings.simplefilter("ignore")
    seeds = seed_files(ROOT / "sample_data" / "dicom")
    datas = [p.read_bytes() for p in seeds]
    outcomes: collections.Counter[str] = collections.Counter()
    deadline = args.started + args.max_seconds
    index, slowest = start, 0.0
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        while index < args.inputs and time.time() < deadline:
            Path(progress).write_text(str(index))
            k, ops, data = _input(datas, args.seed, index)
            t0 = time.perf_counter()
            try:
                outcomes[check_bytes(data, tmp, timeout=args.timeout)] += 1
            except FuzzHang:
                outcomes["HANG"] += 1
                results.put(("hang", index, seeds[k].name, ops, "", data))
            except Exception as err:  # the point of fuzzing: anything untyped is a finding
                frame = traceback.extract_tb(err.__traceback__)[-1]
                where = f"{type(err).__name__} at {frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
                outcomes["UNTYPED"] += 1
                results.put(("untyped", index, seeds[k].name, ops, where, data))
            slowest = max(slowest, time.perf_counter() - t0)
            index += 1
            if index % 5000 == 0:
                results.put(("progress", index, "", [], "", b""))
    results.put(("done", index, json.dumps(outcomes), [], f"{slowest:.3f}", b""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per input before it counts as a hang"
    )
    parser.add_argument("--tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--failures", type=Path, default=ROOT / "bench-out" / "fuzz_failures")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.started = time.time()
    ctx = mp.get_context("spawn")
    outcomes: collections.Counter[str] = collections.Counter()
    findings: collections.Counter[str] = collections.Counter()
    crashes, start, slowest = 0, 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        progress = os.path.join(tmp, "index")
        while start < args.inputs and time.time() < args.started + args.max_seconds:
            results: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_worker, args=(args, start, progress, results))
            proc.start()
            done = False
            while not done:
                try:
                    kind, index, name, ops, where, data = results.get(timeout=5.0)
                except Exception:  # queue.Empty: check the worker is still alive
                    if not proc.is_alive():
                        break
                    continue
                if kind == "done":
                    outcomes.update(json.loads(name))
                    slowest = max(slowest, float(where))
                    start, done = index, True
                elif kind == "progress":
                    print(f"{index} inputs, {time.time() - args.started:.0f} s", flush=True)
                else:
                    key = where or kind
                    findings[key] += 1
                    if findings[key] <= 3:
                        args.failures.mkdir(parents=True, exist_ok=True)
                        (args.failures / f"{kind}-{index}.dcm").write_bytes(data)
                        print(f"FINDING {key}: input {index} ({name}, ops={ops})", flush=True)
            proc.join()
            if not done:  # the worker died (segfault, OOM kill): count it and go on after that input
                crashed = int(Path(progress).read_text())
                crashes += 1
                findings[f"worker died (exit {proc.exitcode})"] += 1
                print(f"FINDING worker died on input {crashed} (exit {proc.exitcode})", flush=True)
                outcomes["CRASH"] += 1
                start = crashed + 1
    elapsed = time.time() - args.started
    tried = sum(outcomes.values())
    summary = {
        "inputs": tried,
        "seconds": round(elapsed, 1),
        "inputs_per_second": round(tried / elapsed, 1),
        "outcomes": dict(outcomes.most_common()),
        "untyped_exceptions": outcomes["UNTYPED"],
        "hangs": outcomes["HANG"],
        "worker_crashes": crashes,
        "slowest_input_seconds": slowest,
        "findings": dict(findings),
        "seed": args.seed,
        "timeout_seconds": args.timeout,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
