"""``adapt``: fine-tuning a tiny real model on a generated writer's samples, growing a new class, cancelling,
and the command line's answers to unusable samples folders."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from trainer.cli import main
from trainer.data.dataset import scan_dataset
from trainer.data.loading import load_images
from trainer.data.preprocess import to_model_input
from trainer.data.samples import save_sample, scan_samples
from trainer.data.split import notebook_split
from trainer.data.strokes import TEMPLATES, jittered, make_dataset, render
from trainer.errors import Cancelled
from trainer.labels import CLASS_NAMES
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving import personal
from trainer.serving.card import ModelCard
from trainer.serving.modelio import load_model
from trainer.training.adapt import AdaptConfig, adapt

SIZE = 32
#: The writer's 1 has a flag and a base, their 4 is closed: the base model, trained on the templates, reads
#: about half of each wrongly.
WRITER = {
    "1": [[(0.35, 0.27), (0.55, 0.1), (0.55, 0.9)], [(0.35, 0.9), (0.75, 0.9)]],
    "4": [[(0.55, 0.1), (0.25, 0.6), (0.8, 0.6)], [(0.62, 0.35), (0.62, 0.92)]],
}
PAREN = [[(0.6, 0.08), (0.42, 0.3), (0.38, 0.5), (0.42, 0.7), (0.6, 0.92)]]


def drawings(strokes, count: int, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Jittered drawings preprocessed as the model sees them (``size`` 224: as the pad saves samples)."""
    return np.stack(
        [
            to_model_input(render(jittered(strokes, rng, 0.7), 96, rng.uniform(0.05, 0.07)), "ink", size)
            for _ in range(count)
        ]
    )


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _trained_on_templates(model, architecture: str, path: Path) -> Path:
    """``model`` trained for seconds on template drawings of the 19 classes (z with its bar), saved at ``path``."""
    import keras

    from trainer.serving.modelio import save_model

    rng = np.random.default_rng(1)
    x = np.concatenate([drawings(TEMPLATES[c], 30, rng) for c in CLASS_NAMES]).astype(np.float32)
    y = np.repeat(np.arange(len(CLASS_NAMES)), 30)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    card = ModelCard(labels=list(CLASS_NAMES), architecture=architecture, input_size=SIZE, preprocessing="ink")
    return save_model(model, card, path)


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    """A tiny CNN (no fixed front: adapt fine-tunes its top layers in place, without a gate)."""
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(len(CLASS_NAMES), activation="softmax"),
        ]
    )
    return _trained_on_templates(model, "tiny-adapt-test", tmp_path_factory.mktemp("base") / "base.keras")


@pytest.fixture
def writer_samples(tmp_path) -> Path:
    """Five drawings each of the writer's 1 and 4 (what they would correct in the pad)."""
    rng = np.random.default_rng(2)
    folder = tmp_path / "samples"
    for c in WRITER:
        for raster in drawings(WRITER[c], 5, rng, 224):
            save_sample([], raster, c, folder)
    return folder


def accuracy(model, x, labels) -> float:
    target = np.array([model.labels.index(label) for label in labels])
    return float((model.predict_inputs(x).argmax(1) == target).mean())


def test_adapt_learns_the_writer_and_a_new_symbol(base_model, writer_samples, tmp_path, capsys):
    rng = np.random.default_rng(4)
    for raster in drawings(PAREN, 10, rng, 224):
        save_sample([], raster, "lparen", writer_samples)
    (writer_samples / "lparen" / "symbol.txt").write_text("(\n\\left(\n", encoding="utf-8")
    before_model, before_samples = digest(base_model), scan_samples(writer_samples).digest
    out = tmp_path / "adapted.keras"
    code = main(
        [
            "adapt",
            "--samples",
            str(writer_samples),
            "--model",
            str(base_model),
            "--output",
            str(out),
            "--epochs",
            "10",
            "--replay",
            "20",
            "--learning-rate",
            "1e-3",
            "--progress",
            "none",
        ]
    )
    assert code == 0, capsys.readouterr().err
    base, adapted = load_model(base_model), load_model(out)

    others = np.concatenate([drawings(WRITER[c], 30, rng) for c in WRITER])  # the writer's other drawings
    labels = [c for c in WRITER for _ in range(30)]
    assert accuracy(base, others, labels) <= 0.5 and accuracy(adapted, others, labels) >= 0.8

    assert adapted.labels == [*CLASS_NAMES, "lparen"]  # the output layer grew
    assert accuracy(adapted, drawings(PAREN, 20, rng), ["lparen"] * 20) >= 0.9
    card = adapted.card
    assert card.dataset["symbols"] == {"lparen": {"symbol": "(", "latex": "\\left("}}
    assert card.training["new_classes"] == ["lparen"]
    assert card.training["base_model"]["path"] == str(base_model.resolve())
    assert card.training["samples"]["counts"] == {"1": 5, "4": 5, "lparen": 10}
    assert card.training["samples"]["hash"] == before_samples
    # old classes, on the same (generated) test split for both models
    assert card.metrics["test_accuracy"] >= card.metrics["base_test_accuracy"] - 0.03
    # on the samples themselves: the base reads the writer badly and knows no "(" (10 of the 20 samples)
    assert card.metrics["base_samples_accuracy"] <= 0.5 < 0.9 <= card.metrics["samples_accuracy"]
    assert digest(base_model) == before_model and scan_samples(writer_samples).digest == before_samples

    # the grown model is scored on a dataset of the 19 classes too (Model -> Evaluate in the pad)
    data = make_dataset(tmp_path / "data", per_class=6, size=48, seed=3)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(data), "--json", "--progress", "none"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_images"] == len(notebook_split(scan_dataset(data)).test)
    assert "lparen" in metrics["per_class_recall"] and metrics["test_accuracy"] > 0.5
    # and its report names the taught class by its own symbol, from the card
    assert main(["report", str(out), "--data", str(data), "--output", str(tmp_path / "rep"), "--progress", "none"]) == 0
    with open(tmp_path / "rep" / "per_class.csv", encoding="utf-8") as f:
        symbols = {row["class"]: row["symbol"] for row in csv.DictReader(f)}
    assert symbols["lparen"] == "(" and symbols["mul"] == "×"
    # a dataset whose classes are not the model's first labels is still refused, in one line
    other = make_dataset(tmp_path / "other", per_class=4, classes=("3", "7"), size=48, seed=3)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(other), "--progress", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differ from the model's labels" in err[0] and "Traceback" not in err[0]


def test_cancelled_adapt_writes_nothing(base_model, writer_samples, tmp_path):
    cancel = CancelToken()
    seen = []

    def progress(event):
        seen.append(event.stage)
        if event.stage == "Learning your handwriting":
            cancel.cancel()  # what SIGTERM, Ctrl+C or Cancel in the pad do

    before = digest(base_model), scan_samples(writer_samples).digest
    with pytest.raises(Cancelled):
        adapt(
            AdaptConfig(writer_samples, base_model, tmp_path / "never.keras", epochs=3, replay_per_class=10),
            progress=progress,
            cancel=cancel,
        )
    assert "Learning your handwriting" in seen
    assert list(tmp_path.glob("never*")) == [] and not list(tmp_path.glob(".never*"))
    assert (digest(base_model), scan_samples(writer_samples).digest) == before


@pytest.mark.parametrize(
    "problem, message",
    [
        ("missing", "does not exist"),
        ("empty", "holds no samples yet"),
        ("junk", "not samples"),
        ("one-sample", "at least 2 samples"),
    ],
)
def test_unusable_samples_folder_is_one_line_and_writes_nothing(base_model, tmp_path, capsys, problem, message):
    folder = tmp_path / "samples"
    if problem != "missing":
        folder.mkdir()
    if problem in ("junk", "one-sample"):
        rng = np.random.default_rng(5)
        for raster in drawings(TEMPLATES["7"], 1 if problem == "one-sample" else 2, rng, 224):
            save_sample([], raster, "7", folder)
    if problem == "junk":
        (folder / "7" / "notes.docx").write_bytes(b"x")
    out = tmp_path / "out.keras"
    code = main(["adapt", "--samples", str(folder), "--model", str(base_model), "--output", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_fine_tuning_on_a_dataset_never_learns_its_test_split(base_model, tmp_path):
    """What "start from the active model" in a Train dialog runs: the dataset is both samples and replay."""
    data = make_dataset(tmp_path / "data", per_class=6, size=48, seed=3)
    out = adapt(AdaptConfig(data, base_model, tmp_path / "tuned.keras", epochs=1, data=data, replay_per_class=4))
    card = ModelCard.read(card_path(out))
    split = notebook_split(scan_dataset(data))
    train = Counter(s.path.parent.name for s in split.train)
    assert card.training["samples"]["counts"] == dict(sorted(train.items()))  # none of the test split
    assert card.split["test_fingerprint"] == split.fingerprint() and card.metrics["test_images"] == len(split.test)


def test_a_new_symbol_on_a_dataset_no_bigger_than_the_replay_still_adapts(base_model, tmp_path):
    """With no train image left beyond the replay there is nothing to check a new class against (this
    crashed once); the run completes without the check."""
    data = make_dataset(tmp_path / "data", per_class=6, size=48, seed=3)
    rng = np.random.default_rng(6)
    for raster in drawings(PAREN, 4, rng, 224):
        save_sample([], raster, "lparen", tmp_path / "samples")
    config = AdaptConfig(tmp_path / "samples", base_model, tmp_path / "grown.keras", epochs=1, data=data)
    card = ModelCard.read(card_path(adapt(config)))
    assert card.labels[-1] == "lparen" and card.training["new_class_penalty"] == 0.0


def test_the_card_names_the_test_images_a_new_symbol_takes(base_model, tmp_path):
    """A new symbol drawn like a 1 (a stroke, as some write ``|``) takes test 1s: the card lists, per class, the
    test images the base read right and the new model misreads, and what it reads them as (the pad's switch
    question shows them)."""
    data = make_dataset(tmp_path / "data", per_class=12, size=48, seed=3)
    rng = np.random.default_rng(8)
    for raster in drawings(TEMPLATES["1"], 10, rng, 224):
        save_sample([], raster, "bar", tmp_path / "samples")
    config = AdaptConfig(tmp_path / "samples", base_model, tmp_path / "grown.keras", epochs=6, data=data)
    grown = load_model(adapt(config))
    base = load_model(base_model)
    index = scan_dataset(data)
    test = load_images(notebook_split(index).test, "ink", SIZE, use_cache=False)
    truth = np.array([grown.labels.index(index.class_names[label]) for label in test.y])
    before, after = base.predict_inputs(test.x).argmax(1), grown.predict_inputs(test.x).argmax(1)
    lost = Counter(
        (grown.labels[t], grown.labels[a]) for t, b, a in zip(truth, before, after, strict=True) if b == t != a
    )
    recorded = grown.card.metrics["newly_misread"]
    assert {(c, read): n for c, reads in recorded.items() for read, n in reads.items()} == dict(lost)
    assert recorded.get("1", {}).get("bar", 0) >= 1


def test_a_new_symbol_is_read_from_its_samples_before_any_fine_tuning(base_model, tmp_path):
    """A new class's row starts from its samples' features (weight imprinting), so even a fine-tune that
    learns nothing (a vanishing learning rate) reads other drawings of the symbol, and the old classes as
    before; a row started at random reads them far less surely."""
    rng = np.random.default_rng(7)
    for raster in drawings(PAREN, 10, rng, 224):
        save_sample([], raster, "lparen", tmp_path / "samples")
    config = AdaptConfig(tmp_path / "samples", base_model, tmp_path / "grown.keras", epochs=1, learning_rate=1e-12)
    base, grown = load_model(base_model), load_model(adapt(config))
    assert grown.labels == [*CLASS_NAMES, "lparen"]
    read = grown.predict_inputs(drawings(PAREN, 20, rng))
    # imprinted: 95-100 % read, at 0.92-0.96 on average (three seeds); rows at random: 65-95 %, at 0.44-0.59
    assert (read.argmax(1) == len(CLASS_NAMES)).mean() >= 0.9 and read[:, -1].mean() >= 0.8
    old = np.concatenate([drawings(TEMPLATES[c], 4, rng) for c in CLASS_NAMES])
    labels = [c for c in CLASS_NAMES for _ in range(4)]
    assert accuracy(grown, old, labels) >= accuracy(base, old, labels) - 0.02


@pytest.fixture(scope="module")
def default_base(tmp_path_factory) -> Path:
    """A tiny model of the default architecture (fixed front, CNN core reading its ink at 16x16): adapt saves it
    behind a gate."""
    import keras

    from trainer.models import default

    keras.utils.set_random_seed(1)
    model = default.build(len(CLASS_NAMES), SIZE, default.core(len(CLASS_NAMES), SIZE, (8, 16, 32, 48)))
    return _trained_on_templates(model, "default", tmp_path_factory.mktemp("default") / "base.keras")


def _gated_parts(path: Path):
    """The saved model's Keras forms: whole (gated), its base and its fine-tuned core behind the same front."""
    import keras

    model = keras.saving.load_model(path, compile=False)
    front = model.get_layer("front")
    parts = personal.ungated(model.get_layer("core"))
    assert parts is not None, "adapting a default-architecture model gives a gated core"
    image = keras.Input(model.input_shape[1:])
    return model, *(keras.Model(image, core(front(image))) for core in parts)


def test_the_gate_keeps_the_base_answer_far_from_the_samples(default_base, writer_samples, tmp_path):
    """The fine-tuned core answers for the writer's drawings, the base model for drawings unlike any sample;
    the saved model's ONNX twin gives the same mix."""
    out = adapt(AdaptConfig(writer_samples, default_base, tmp_path / "a.keras", epochs=10, replay_per_class=20))
    adapted = load_model(out)
    gate = adapted.card.training["personal_gate"]
    assert gate["prototypes"] == 10 and gate["dataset_closeness"] < gate["threshold"] < gate["samples_spread"]
    assert adapted.card.files and "onnx" in adapted.card.files

    rng = np.random.default_rng(6)
    mine = np.concatenate([drawings(WRITER[c], 20, rng) for c in WRITER]).astype(np.float32)
    far = np.concatenate([drawings(TEMPLATES[c], 5, rng) for c in CLASS_NAMES if c not in WRITER]).astype(np.float32)
    whole, base, fine_tuned = _gated_parts(out)
    for x, near, other in ((mine, fine_tuned, base), (far, base, fine_tuned)):
        p, p_near, p_other = (np.asarray(m.predict(x, verbose=0)) for m in (whole, near, other))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        # the mix lies much closer to the model that should answer than to the other one
        assert np.abs(p - p_near).sum() < 0.35 * np.abs(p_other - p_near).sum()
        np.testing.assert_allclose(adapted.predict_inputs(x), p, atol=1e-4)  # the twin


def test_adapting_an_adapted_model_keeps_the_first_base(default_base, writer_samples, tmp_path):
    """Learning again from the pad fine-tunes the personal core further; the gate still falls back to the
    original base model, not to a gate inside a gate."""
    first = adapt(AdaptConfig(writer_samples, default_base, tmp_path / "first.keras", epochs=2, replay_per_class=5))
    rng = np.random.default_rng(7)
    for raster in drawings(PAREN, 5, rng, 224):
        save_sample([], raster, "lparen", writer_samples)
    second = adapt(AdaptConfig(writer_samples, first, tmp_path / "second.keras", epochs=2, replay_per_class=5))
    assert load_model(second).labels == [*CLASS_NAMES, "lparen"]
    original = _gated_parts(first)[1]
    whole, base, _ = _gated_parts(second)
    assert [layer.name for layer in whole.get_layer("core").layers].count(personal.PROTOTYPES) == 1
    for mine, theirs in zip(base.get_weights(), original.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_fine_tune_on_the_dataset_itself_has_no_gate(default_base, tmp_path):
    """The Train menu's fine-tune is meant for every drawing: its model answers with the fine-tuned core alone."""
    import keras

    data = make_dataset(tmp_path / "data", per_class=6, size=48, seed=3)
    out = adapt(AdaptConfig(data, default_base, tmp_path / "tuned.keras", epochs=1, data=data, replay_per_class=4))
    assert "personal_gate" not in load_model(out).card.training
    assert personal.ungated(keras.saving.load_model(out, compile=False).get_layer("core")) is None
