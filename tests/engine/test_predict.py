import csv

import numpy as np
import pytest
import torch
from monai.data import list_data_collate

from medms.checkpoint import build_model, load_checkpoint, save_checkpoint
from medms.engine import predict
from medms.engine.inference import logits_for_batch
from medms.errors import OutputError
from medms.synthetic import write_image_dicom
from medms.transforms.presets import get_preset

CLASSES = ["malignant", "benign"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from medms.networks import build_network

    torch.manual_seed(0)
    model = build_network("multiscale_resnet50", spatial_dims=2, in_channels=1, num_classes=2)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(
        {
            "model": {"name": "multiscale_resnet50", "options": model.config},
            "preprocessing": {"preset": "medmnist", "options": {"spatial_size": 32}},
            "class_names": CLASSES,
            "state_dict": model.state_dict(),
            "temperature": 1.5,
        },
        path,
    )
    return path


@pytest.fixture(scope="module")
def scans(tmp_path_factory, breastmnist_npz):
    """Six real BreastMNIST test images as DICOM series, plus three broken files."""
    folder = tmp_path_factory.mktemp("scans")
    with np.load(breastmnist_npz) as data:
        images = data["test_images"][:6]
    for i, image in enumerate(images):
        write_image_dicom(
            image, folder / f"img{i}.dcm", series_uid=f"1.2.826.0.1.3680043.10.999.{i + 1}", seed=i
        )
    broken = folder / "broken"
    broken.mkdir()
    good = (folder / "img0.dcm").read_bytes()
    import pydicom

    ds = pydicom.dcmread(folder / "img0.dcm")
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.999.100"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.999.100.1"
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]  # truncated pixel data
    ds.save_as(broken / "truncated.dcm")
    del ds.PixelData
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.999.101"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.999.101.1"
    ds.save_as(broken / "no_pixels.dcm")
    (broken / "notes.txt").write_text("not an image")
    assert good
    return folder, images


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_predict_folder_records_failures_and_goes_on(checkpoint, scans, tmp_path):
    folder, _ = scans
    out = tmp_path / "pred.csv"
    summary = predict(checkpoint, [folder], out, num_workers=0, progress=False)
    rows = _rows(out)
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert summary.ok == len(ok) == 6
    assert len(rows) == len({r["id"] for r in rows})
    assert all(r["error"] for r in failed) and all(not r["error"] for r in ok)
    assert summary.ok + summary.failed == len(rows)
    for r in ok:
        p = float(r["prob_malignant"]), float(r["prob_benign"])
        assert abs(sum(p) - 1) < 1e-5 and r["predicted"] == CLASSES[int(np.argmax(p))]
    card = (tmp_path / "pred.meta.json").read_text()
    assert load_checkpoint(checkpoint)["sha256"] in card


def test_dicom_path_and_array_path_agree(checkpoint, scans, tmp_path):
    folder, images = scans
    out = tmp_path / "pred.csv"
    predict(checkpoint, [folder], out, num_workers=0, progress=False)
    by_id = {r["id"]: r for r in _rows(out)}
    ckpt = load_checkpoint(checkpoint)
    model = build_model(ckpt)
    preset = get_preset("medmnist", spatial_size=32)
    batch = list_data_collate([preset({"image": img}) for img in images])["image"]
    logits = logits_for_batch(model, batch, torch.device("cpu"))  # spacing from the MetaTensor, as in predict
    probs = torch.softmax(logits / ckpt["temperature"], dim=1).numpy()
    for i in range(len(images)):
        row = by_id[f"1.2.826.0.1.3680043.10.999.{i + 1}"]
        got = [float(row["prob_malignant"]), float(row["prob_benign"])]
        np.testing.assert_allclose(got, probs[i], atol=1e-5)


def test_existing_output_is_refused_without_flag(checkpoint, scans, tmp_path):
    out = tmp_path / "pred.csv"
    out.write_text("precious\n")
    with pytest.raises(OutputError, match="--resume"):
        predict(checkpoint, [scans[0]], out, num_workers=0, progress=False)
    assert out.read_text() == "precious\n"


def test_resume_after_a_kill_mid_row(checkpoint, scans, tmp_path):
    folder, _ = scans
    out = tmp_path / "pred.csv"
    predict(checkpoint, [folder], out, num_workers=0, progress=False)
    full = out.read_text().splitlines(keepends=True)
    # as if killed while writing row 4: three complete rows and half a line
    out.write_text("".join(full[:4]) + full[4][:10])
    summary = predict(checkpoint, [folder], out, resume=True, num_workers=0, progress=False)
    rows = _rows(out)
    assert summary.skipped == 3
    assert sorted(r["id"] for r in rows) == sorted(line.split(",")[0] for line in full[1:])
    assert out.read_text().count("\n") == len(full)


def test_manifest_with_missing_file_is_a_failed_row(checkpoint, scans, tmp_path):
    folder, _ = scans
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,path\na,{folder / 'img1.dcm'}\nb,{tmp_path / 'gone.dcm'}\n")
    out = tmp_path / "pred.csv"
    summary = predict(checkpoint, [manifest], out, num_workers=0, progress=False)
    rows = {r["id"]: r for r in _rows(out)}
    assert rows["a"]["status"] == "ok" and rows["b"]["status"] == "failed"
    assert "gone.dcm" in rows["b"]["error"]
    assert summary.ok == 1 and summary.failed == 1


def test_nifti_inputs_in_a_folder_and_as_files(checkpoint, scans, tmp_path):
    import nibabel as nib

    _, images = scans
    folder = tmp_path / "nifti"
    folder.mkdir()
    for i in range(2):
        nib.save(nib.Nifti1Image(images[i].T.astype(np.float32), np.eye(4)), folder / f"case{i}.nii.gz")
    out = tmp_path / "pred.csv"
    summary = predict(checkpoint, [folder], out, num_workers=0, progress=False)
    rows = _rows(out)
    assert summary.ok == 2 and all(r["status"] == "ok" for r in rows)
    assert sorted(r["id"] for r in rows) == sorted(str(p) for p in folder.glob("*.nii.gz"))
    single = tmp_path / "single.csv"
    predict(checkpoint, [folder / "case0.nii.gz"], single, num_workers=0, progress=False)
    assert [r["id"] for r in _rows(single)] == [str(folder / "case0.nii.gz")]
