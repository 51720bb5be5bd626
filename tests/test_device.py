"""Training's device and precision choice, tested on this CPU with described GPUs: mixed precision only where
tensor cores make it pay, and the model's output stays float32 under it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from trainer.errors import MathSymError
from trainer.training.device import FULL, MIXED, Gpu, choose_precision, configure_training, visible_gpus

VOLTA, AMPERE, KEPLER = Gpu("V100", (7, 0)), Gpu("A100", (8, 0)), Gpu("K80", (3, 7))


@pytest.mark.parametrize(
    "gpus,expected",
    [
        ([], FULL),  # CPU only
        ([VOLTA], MIXED),
        ([AMPERE, VOLTA], MIXED),
        ([KEPLER], FULL),  # no tensor cores: float16 would be slower
        ([AMPERE, KEPLER], FULL),  # one old card in the mix
        ([Gpu("unknown", None)], FULL),
    ],
)
def test_mixed_precision_only_on_gpus_with_tensor_cores(gpus, expected):
    assert choose_precision(gpus) == expected
    assert choose_precision(gpus, "auto") == expected
    assert choose_precision(gpus, FULL) == FULL


def test_asking_for_mixed_precision_without_a_capable_gpu_is_refused():
    assert choose_precision([AMPERE], MIXED) == MIXED
    for gpus in ([], [KEPLER]):
        with pytest.raises(MathSymError, match="compute capability 7.0"):
            choose_precision(gpus, MIXED)
    with pytest.raises(MathSymError, match="MATHSYM_PRECISION"):
        choose_precision([], "half")


def test_this_cpu_trains_in_float32_and_the_card_says_so():
    assert visible_gpus() == []  # the CPU build used by the suite sees no GPU
    record = configure_training()
    assert record == {"kind": "CPU", "gpus": None, "precision": FULL}
    assert keras.mixed_precision.global_policy().name == FULL


def test_mixed_precision_keeps_the_softmax_output_float32():
    from trainer.models.default import build

    try:
        record = configure_training(gpus=[AMPERE])
        assert record["kind"] == "GPU" and record["precision"] == MIXED and "A100" in record["gpus"]
        model = build(19, input_size=32)
        assert model.compute_dtype == "float16"  # the maths runs in float16 ...
        assert model.outputs[0].dtype == "float32"  # ... and the softmax in float32
        probabilities = model.predict(np.zeros((2, 32, 32, 3), np.uint8), verbose=0)
        assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    finally:
        keras.mixed_precision.set_global_policy(FULL)
