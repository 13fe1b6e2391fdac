"""Byte-mutation fuzzing of scan + read (short CI run; ``benchmarks/fuzz_io.py`` is the long run), and the
inputs earlier fuzzing found, kept as regression fixtures: only ``medms.errors`` exceptions may escape."""

import logging
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medms.testing.fuzz import OPS, check_bytes, mutate, seed_files

from .conftest import ROOT

SEEDS = seed_files(ROOT / "sample_data" / "dicom")
DATA = {p.name: p.read_bytes() for p in SEEDS}
KNOWN = ("ok", "DicomError", "NotAnImageError", "CorruptPixelDataError", "UnsupportedTransferSyntaxError",
         "ImageSizeError", "GeometryError", "SeriesSelectionError")  # fmt: skip

op = st.tuples(st.sampled_from(OPS), st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 2**16 - 1))

# Inputs that raised untyped exceptions before the fixes in medms.io (seed file, mutation ops) → typed outcome.
FOUND = [
    ("7166", [("u16", 0.2521406786205266, 39770), ("set", 0.7686825338221793, 36499)], "DicomError"),
    ("693_J2KR.dcm", [("u16", 0.6620531995427018, 23167), ("flip", 0.3135986493894647, 64755)], "DicomError"),
    ("7106", [("u32", 0.734839726407974, 50563)], "DicomError"),
    (
        "emri_small_RLE.dcm",
        [("set", 0.07232009741035228, 59680), ("insert", 0.053286894013911845, 43188),
         ("truncate", 0.6239116307216966, 38154), ("u16", 0.9903001071880347, 38453)],
        "DicomError",
    ),
    (
        "7.dcm",
        [("u32", 0.12161456051879982, 53129), ("delete", 0.36701059044466433, 35847),
         ("truncate", 0.5501240844177487, 2695), ("u32", 0.14523351341557755, 63942)],
        "DicomError",
    ),
    # a JPEG 2000 codestream declaring 8388608x640 pixels in a 480x640 file: the decoder was OOM-killed
    (
        "US1_J2KR.dcm",
        [("set", 0.19850634059826688, 64866), ("u32", 0.5683386147843464, 48162),
         ("u16", 0.5905848310539508, 48254)],
        "CorruptPixelDataError",
    ),
]  # fmt: skip


def test_seed_corpus_is_real_sample_data():
    outcomes = [check_bytes(data, timeout=30) for data in DATA.values()]
    assert len(SEEDS) >= 10 and outcomes.count("ok") >= 10  # emri_small*: frames without positions


@pytest.mark.parametrize(
    ("seed", "ops", "outcome"), FOUND, ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(FOUND)]
)
def test_found_inputs_now_raise_typed_errors(seed, ops, outcome, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check_bytes(mutate(DATA[seed], ops), tmp_path) == outcome


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(DATA)), ops=st.lists(op, min_size=1, max_size=4))
def test_mutated_real_files_raise_only_medms_errors(seed, ops, tmp_path_factory):
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # an untyped exception or a hang (FuzzHang after 10 s) fails the test with the input shrunk
            assert check_bytes(mutate(DATA[seed], ops), tmp_path_factory.getbasetemp()) in KNOWN
    finally:
        logging.disable(logging.NOTSET)
