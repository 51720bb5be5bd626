"""Nothing the user owns is lost, and every command says plainly what is wrong with its data (issue 10).

``report`` and ``split`` never delete what they did not write; a dataset with no readable image, or with one
class, is refused by every command with the same sentence; huge images are decoded at a bounded size; text
from files and cards reaches the terminal with its control characters escaped; a closed pipe ends ``predict``
quietly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_run import one_error, run

from trainer.data.dataset import scan_dataset
from trainer.data.split import notebook_split, write_split
from trainer.errors import DatasetError, MathSymError
from trainer.labels import CLASS_NAMES

ROOT = Path(__file__).resolve().parent.parent


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- report: replaces only what it wrote ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation(tiny_model, synthetic_dataset):
    from trainer.data.loading import load_images
    from trainer.evaluation.evaluate import metrics_from_predictions
    from trainer.serving.modelio import load_model

    model = load_model(tiny_model)
    images = load_images(
        notebook_split(scan_dataset(synthetic_dataset)).test, model.card.preprocessing, model.card.input_size
    )
    probabilities = model.predict_inputs(images.x)
    return model, images, probabilities, metrics_from_predictions(images.y, probabilities, model.labels)


def export(evaluation, output: Path):
    from trainer.evaluation.report import export_report

    model, images, probabilities, metrics = evaluation
    return export_report(model, images, metrics, output, probabilities=probabilities)


def test_report_never_deletes_files_it_did_not_write(evaluation, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "metrics.json").write_text('{"mine": true}')  # looks like an old report, but no report wrote it
    (out / "thesis.tex").write_text("keep me")
    with pytest.raises(MathSymError) as info:
        export(evaluation, out)
    assert str(out) in str(info.value) and "thesis.tex" in str(info.value)
    assert (out / "thesis.tex").read_text() == "keep me" and (out / "metrics.json").read_text() == '{"mine": true}'
    assert names(tmp_path) == ["results"]


def test_report_replaces_only_its_own_earlier_report(evaluation, tmp_path):
    from trainer.evaluation.report import FILES

    out = tmp_path / "report"
    first = export(evaluation, out)
    manifest = json.loads(first["manifest"].read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(set(names(out)) - {FILES["manifest"]})
    theirs = tmp_path / f".report.old-{os.getpid()}"  # a name the old code used for its scratch folder
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")

    export(evaluation, out)  # a report it wrote itself is replaced
    assert names(out) == sorted(p.name for p in first.values())
    assert (theirs / "keep.txt").read_text() == "mine"
    assert names(tmp_path) == [theirs.name, "report"]

    (out / "notes.txt").write_text("my notes")
    with pytest.raises(MathSymError) as info:
        export(evaluation, out)
    assert "notes.txt" in str(info.value) and (out / "notes.txt").read_text() == "my notes"
    (out / "notes.txt").unlink()

    (out / FILES["per_class_csv"]).write_text("edited by hand")  # a report file the user changed is theirs now
    with pytest.raises(MathSymError) as info:
        export(evaluation, out)
    assert FILES["per_class_csv"] in str(info.value)
    assert (out / FILES["per_class_csv"]).read_text() == "edited by hand"
    assert names(tmp_path) == [theirs.name, "report"]


def test_report_command_refuses_a_folder_with_other_files(capsys, tiny_model, synthetic_dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / "photo.jpg").write_bytes(b"\xff\xd8 my holiday")
    code, _, err = run(capsys, "report", tiny_model, "--data", synthetic_dataset, "--output", out)
    assert code == 1 and "photo.jpg" in one_error(err)
    assert (out / "photo.jpg").read_bytes() == b"\xff\xd8 my holiday" and names(out) == ["metrics.json", "photo.jpg"]


# -- datasets every command refuses the same way ----------------------------------------------------------------


@pytest.fixture(scope="module")
def unreadable_dataset(tmp_path_factory) -> Path:
    """The 19 classes, ten files each, none of them a decodable image."""
    root = tmp_path_factory.mktemp("unreadable") / "data"
    rng = np.random.default_rng(5)
    for name in CLASS_NAMES:
        (root / name).mkdir(parents=True)
        for i in range(10):
            (root / name / f"bad_{i:02d}.png").write_bytes(rng.bytes(200))
    return root


@pytest.fixture(scope="module")
def one_class_dataset(synthetic_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("one-class") / "data"
    shutil.copytree(synthetic_dataset / "3", root / "3")
    return root


def commands(data: Path, model: Path, out: Path) -> dict[str, list]:
    quick = ["--output", out / "m.keras", "--epochs", "1", "--subset", "2", "--batch-size", "8"]
    return {
        "train default": ["train", "default", "--data", data, "--image-size", "32", *quick],
        "train alexnet": ["train", "alexnet", "--data", data, "--image-size", "67", *quick],
        "train vgg19": ["train", "vgg19", "--data", data, "--image-size", "32", "--weights", "none", *quick],
        "tune": [
            "tune",
            "--data",
            data,
            "--output",
            out / "m.keras",
            "--max-epochs",
            "1",
            "--image-size",
            "67",
            "--subset",
            "2",
            "--directory",
            out / "search",
        ],
        "evaluate": ["evaluate", model, "--data", data],
        "report": ["report", model, "--data", data, "--output", out / "report"],
    }


@pytest.mark.parametrize("command", ["train default", "train alexnet", "train vgg19", "tune", "evaluate", "report"])
def test_a_dataset_without_one_readable_image_says_so(capsys, unreadable_dataset, tiny_model, tmp_path, command):
    code, _, err = run(capsys, *commands(unreadable_dataset, tiny_model, tmp_path)[command])
    message = one_error(err)
    assert code == 1 and "no image could be read" in message.lower(), message
    named = [p for p in unreadable_dataset.rglob("*.png") if str(p) in message]
    assert 1 <= len(named) <= 5, message  # the first few unreadable files, not all 190
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "report").exists()


@pytest.mark.parametrize("command", ["train default", "train alexnet", "train vgg19", "tune"])
def test_a_one_class_dataset_is_refused_by_every_architecture(capsys, one_class_dataset, tiny_model, tmp_path, command):
    code, _, err = run(capsys, *commands(one_class_dataset, tiny_model, tmp_path)[command])
    message = one_error(err)
    assert code == 1 and "only one class (3)" in message and "at least two" in message, message
    assert not (tmp_path / "m.keras").exists()


# -- split: removes only what it made ---------------------------------------------------------------------------


@pytest.fixture()
def theirs(tmp_path) -> Path:
    """A folder named like split's old staging folder, holding someone's work."""
    folder = tmp_path / ".out.partial"
    folder.mkdir()
    (folder / "precious.txt").write_text("mine")
    return folder


def test_split_keeps_a_partial_folder_it_did_not_make(synthetic_dataset, tmp_path, theirs):
    write_split(notebook_split(scan_dataset(synthetic_dataset)), tmp_path / "out")
    assert (theirs / "precious.txt").read_text() == "mine"
    assert (tmp_path / "out" / "split.json").is_file() and names(tmp_path) == [".out.partial", "out"]


def test_failed_split_removes_only_its_own_staging(synthetic_dataset, tmp_path, theirs):
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    split = notebook_split(scan_dataset(data))
    split.test[-1].path.unlink()  # vanishes between scanning and copying
    with pytest.raises(DatasetError) as info:
        write_split(split, tmp_path / "out")
    assert str(tmp_path / "out") in str(info.value)
    assert (theirs / "precious.txt").read_text() == "mine" and names(tmp_path) == [".out.partial", "data"]


def test_interrupted_split_command_keeps_a_partial_folder_it_did_not_make(
    capsys, synthetic_dataset, tmp_path, theirs, monkeypatch
):
    copy, calls = shutil.copy2, []

    def copy_then_interrupt(src, dst, *args, **kwargs):  # Ctrl+C arrives while files are being copied
        calls.append(src)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copy2", copy_then_interrupt)
    code, _, err = run(capsys, "split", "--data", synthetic_dataset, "--output", tmp_path / "out")
    assert code == 130 and "cancelled" in err
    assert (theirs / "precious.txt").read_text() == "mine" and names(tmp_path) == [".out.partial"]


def test_next_split_removes_what_a_killed_split_left_and_nothing_else(synthetic_dataset, tmp_path, theirs):
    stuck = (  # a split that hangs after a few copies, as if the disk stalled, until it is killed
        "import shutil, sys, time\n"
        "from trainer.data.dataset import scan_dataset\n"
        "from trainer.data.split import notebook_split, write_split\n"
        "copy, calls = shutil.copy2, []\n"
        "def slow(*args, **kwargs):\n"
        "    calls.append(1)\n"
        "    if len(calls) > 3:\n"
        "        print('stuck', flush=True)\n"
        "        time.sleep(600)\n"
        "    return copy(*args, **kwargs)\n"
        "shutil.copy2 = slow\n"
        "write_split(notebook_split(scan_dataset(sys.argv[1])), sys.argv[2])\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", stuck, str(synthetic_dataset), str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert child.stdout.readline() == b"stuck\n"
    child.kill()
    child.wait(timeout=60)
    left = [p.name for p in tmp_path.glob(".out.*.partial")]
    assert len(left) == 1 and not (tmp_path / "out").exists()
    unmarked = tmp_path / ".out.notes.partial"  # named like a staging folder, but no split made it
    unmarked.mkdir()

    write_split(notebook_split(scan_dataset(synthetic_dataset)), tmp_path / "out")
    assert names(tmp_path) == [".out.notes.partial", ".out.partial", "out"]
    assert (theirs / "precious.txt").read_text() == "mine"


# -- huge images: decoded at a bounded size ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_huge_images_are_decoded_at_a_bounded_size(tmp_path, suffix):
    from trainer.data.imageio import read_image

    side, limit = 5000, 1024
    image = np.full((side, side, 3), 255, np.uint8)
    cv2.line(image, (1000, 2500), (4000, 2500), (0, 0, 0), 120)
    path = tmp_path / f"huge{suffix}"
    cv2.imwrite(str(path), image)
    reduced = read_image(path, limit=limit)
    assert limit <= max(reduced.shape[:2]) < 2 * limit and reduced.shape[2] == 3
    middle = reduced[reduced.shape[0] // 2, reduced.shape[1] // 2]
    assert middle.max() < 40 and reduced[5, 5].min() > 215  # still the same picture: ink in the middle


def test_a_reduced_decode_keeps_the_exif_rotation(tmp_path):
    from PIL import Image

    from trainer.data.imageio import read_image

    image = Image.new("RGB", (5000, 3000), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes())
    assert read_image(path, limit=1024).shape == (1250, 750, 3)


def test_normal_images_decode_exactly_as_before(synthetic_dataset):
    from trainer.data.imageio import read_image

    for path in sorted((synthetic_dataset / "7").iterdir())[:4]:
        assert np.array_equal(read_image(path, limit=1024), read_image(path))


# -- control characters are shown escaped ---------------------------------------------------------------------


def test_control_characters_are_shown_escaped():
    from trainer.labels import printable

    assert printable("3\x1b[2J") == "3\\x1b[2J"
    assert printable("a\u202eb\x7f\x9b") == "a\\u202eb\\x7f\\x9b"  # bidi override, DEL, C1 CSI
    assert printable("line\nnext\ttab\r") == "line\\nnext\\ttab\\r"
    assert printable("÷ × − 3 add ü 字") == "÷ × − 3 add ü 字"


# -- predict into a closed pipe ---------------------------------------------------------------------------------


def test_predict_into_a_closed_pipe_exits_quietly(tiny_model, synthetic_dataset):
    """``mathsym-train predict DIR | head -1``: the reader goes away; exit like a Unix tool killed by SIGPIPE."""
    child = subprocess.Popen(
        [sys.executable, "-m", "trainer", "--progress", "none", "predict", synthetic_dataset, "--model", tiny_model],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()  # the reader is gone before the first line (as `| head -1` is after it)
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 128 + signal.SIGPIPE
    assert err.strip() == "", err


def test_info_predict_and_errors_show_control_characters_escaped(capsys, tiny_model, synthetic_dataset, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for sibling in tiny_model.parent.glob(f"{tiny_model.stem}.*"):
        shutil.copy2(sibling, folder / sibling.name)
    model = folder / tiny_model.name
    card_file = model.with_name(f"{model.stem}.card.json")
    card = json.loads(card_file.read_text(encoding="utf-8"))
    card["notes"] = "fine\x1b[2J\x1b]0;pwned\x07"
    card_file.write_text(json.dumps(card), encoding="utf-8")
    code, out, err = run(capsys, "info", model)
    assert "\x1b" not in out + err and (code != 0 or "fine\\x1b[2J\\x1b]0;pwned\\x07" in out), out + err

    image = tmp_path / "evil\x1b[31m.png"
    shutil.copy2(next((synthetic_dataset / "add").glob("*.png")), image)
    code, out, err = run(capsys, "predict", image, "--model", tiny_model)
    assert code == 0 and "\x1b" not in out + err and "evil\\x1b[31m.png" in out, out + err
    code, out, err = run(capsys, "predict", tmp_path / "gone\x1b[2J.png", "--model", tiny_model)
    assert code == 1 and "\x1b" not in out + err and "gone\\x1b[2J.png" in out + err


# -- outputs never land inside the dataset they read -------------------------------------------------------------


@pytest.mark.parametrize("command", ["split", "split into the dataset itself", "report", "tune"])
def test_an_output_folder_inside_the_dataset_is_refused(capsys, synthetic_dataset, tiny_model, tmp_path, command):
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    before = sorted(str(p.relative_to(data)) for p in data.rglob("*"))
    argv = {
        "split": ["split", "--data", data, "--output", data / "split_out"],
        "split into the dataset itself": ["split", "--data", data, "--output", data],
        "report": ["report", tiny_model, "--data", data, "--output", data / "rep"],
        "tune": ["tune", "--data", data, "--max-epochs", "1", "--subset", "2", "--directory", data / "search"],
    }[command]
    code, _, err = run(capsys, *argv)
    message = one_error(err)
    assert code == 1 and "the dataset folder" in message and "outside it" in message, message
    assert sorted(str(p.relative_to(data)) for p in data.rglob("*")) == before


# -- replacing keeps permission bits ------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_replacing_a_file_keeps_its_mode(tmp_path):
    from trainer.atomic import atomic_write_bytes, replace_together

    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    atomic_write_bytes(private, b"new")
    assert private.read_bytes() == b"new" and mode(private) == 0o600
    atomic_write_bytes(tmp_path / "fresh.json", b"x")
    assert mode(tmp_path / "fresh.json") == 0o644  # a new file is an ordinary document

    source = tmp_path / "source.tmp"
    source.write_text("newer")
    source.chmod(0o644)
    replace_together([(source, private)], tmp_path / ".journal")
    assert private.read_text() == "newer" and mode(private) == 0o600


def test_evaluate_update_card_keeps_the_cards_mode(capsys, tiny_model, synthetic_dataset, tmp_path):
    from trainer.paths import card_path

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model, model)
    shutil.copy(card_path(tiny_model), card_path(model))
    card_path(model).chmod(0o600)
    code, _, err = run(capsys, "evaluate", model, "--data", synthetic_dataset, "--update-card")
    assert code == 0, err
    assert "evaluated" in json.loads(card_path(model).read_text())["metrics"] and mode(card_path(model)) == 0o600


def test_replaced_output_folders_keep_their_mode(evaluation, synthetic_dataset, tmp_path):
    report = tmp_path / "report"
    export(evaluation, report)
    assert mode(report) == 0o755
    report.chmod(0o700)
    export(evaluation, report)  # replaces the earlier report
    assert mode(report) == 0o700 and names(tmp_path) == ["report"]

    empty = tmp_path / "empty"
    empty.mkdir()
    empty.chmod(0o750)
    write_split(notebook_split(scan_dataset(synthetic_dataset)), empty)
    assert mode(empty) == 0o750 and (empty / "split.json").is_file()


def unprivileged(argv: list) -> list[str]:
    """``argv`` without root's permission override, so that a read-only folder is read-only for it too."""
    argv = [str(a) for a in argv]
    if os.geteuid() != 0:
        return argv
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: read-only folders cannot be tested")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *argv]


def test_a_report_into_a_read_only_folder_fails_and_leaves_nothing(evaluation, tiny_model, synthetic_dataset, tmp_path):
    report = tmp_path / "report"
    export(evaluation, report)
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    report.chmod(0o555)
    try:
        result = subprocess.run(
            unprivileged(
                [
                    sys.executable,
                    "-m",
                    "trainer",
                    "--progress",
                    "none",
                    "report",
                    tiny_model,
                    "--data",
                    synthetic_dataset,
                    "--output",
                    report,
                ]
            ),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        report.chmod(0o755)
    assert result.returncode == 1 and "not writable" in one_error(result.stderr), result.stderr
    assert names(tmp_path) == ["report"] and {p.name: p.read_bytes() for p in report.iterdir()} == before


def test_a_report_that_loses_write_access_while_writing_leaves_no_staging(tiny_model, synthetic_dataset, tmp_path):
    script = (  # the folder turns read-only after the check, while the new report is being written
        "import os, sys\n"
        "from trainer.errors import MathSymError\n"
        "from trainer.evaluation.evaluate import evaluate_on_dataset\n"
        "from trainer.evaluation.report import export_report\n"
        "ev = evaluate_on_dataset(sys.argv[1], sys.argv[2])\n"
        "out = sys.argv[3]\n"
        "export_report(ev.model, ev.images, ev.metrics, out, probabilities=ev.probabilities)\n"
        "def lock(p):\n"
        "    if p.stage == 'Writing report' and p.done == 5:\n"
        "        os.chmod(out, 0o555)\n"
        "try:\n"
        "    export_report(ev.model, ev.images, ev.metrics, out, lock, probabilities=ev.probabilities)\n"
        "except MathSymError as exc:\n"
        "    print(exc)\n"
    )
    report = tmp_path / "report"
    result = subprocess.run(
        unprivileged([sys.executable, "-c", script, tiny_model, synthetic_dataset, report]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report.chmod(0o755)
    assert f"Cannot write the report to {report}" in result.stdout, result.stdout + result.stderr
    assert names(tmp_path) == ["report"] and (report / "report-manifest.json").is_file()


# -- evaluate --update-card keeps the card truthful ------------------------------------------------------------


def test_update_card_refuses_metrics_from_another_test_split(capsys, tiny_model, synthetic_dataset, tmp_path):
    from trainer.data.strokes import make_dataset
    from trainer.paths import card_path

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model, model)
    card = json.loads(card_path(tiny_model).read_text())
    card["dataset"] = {"path": str(synthetic_dataset), "images": 228}
    card["split"] = notebook_split(scan_dataset(synthetic_dataset)).describe()  # what a training run records
    card_path(model).write_text(json.dumps(card))
    before = card_path(model).read_bytes()
    other = make_dataset(tmp_path / "other", per_class=3, size=64, seed=11)
    for argv in (["--data", other], ["--data", synthetic_dataset, "--seed", "-5"]):
        code, out, err = run(capsys, "evaluate", model, *argv, "--update-card")
        message = one_error(err)
        assert code == 1 and "another test split" in message and "not changed" in message, message
        assert "Test accuracy" not in out and card_path(model).read_bytes() == before

    code, _, err = run(capsys, "evaluate", model, "--data", synthetic_dataset, "--update-card")  # its own split
    assert code == 0, err
    updated = json.loads(card_path(model).read_text())
    assert updated["metrics"]["evaluated_split"]["test_fingerprint"] == card["split"]["test_fingerprint"]
    assert updated["split"] == card["split"] and updated["dataset"] == card["dataset"]
