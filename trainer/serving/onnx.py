"""The ONNX twin of a saved model (``X.onnx`` beside ``X.keras`` or a notebook ``X.h5``): export and runtime.

The pad, ``predict`` and ``read`` run the twin with ONNX Runtime, which starts in a fraction of a second and
needs no TensorFlow; training, tuning and the export itself use Keras. The twin takes the same uint8
(N, size, size, 3) inputs the preprocessing makes and returns the same probabilities: the cast (and the
/255 of legacy notebook models) is part of its graph.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from trainer.atomic import atomic_write_bytes
from trainer.errors import ModelError

OPSET = 17
#: Largest difference from the Keras model's probabilities that still counts as the same model. A faithful
#: export differs by ~1e-8 even for a barely trained, near-uniform model; the 2e-4 to 6e-4 such models once
#: showed was a real export error (ResizeArea, see _resize_area), so the bound stays tight.
TOLERANCE = 1e-4
#: Threads for one forward pass. On the 2-core target machine a batch-1 pass of the default model took a
#: median 0.38 ms with one thread and 0.45 ms with two (a second thread only synchronises at this size), and
#: one thread leaves the other core to the GUI thread; benchmarks/startup_latency.py measures both.
INTRA_OP_THREADS = 1


def twin_path(model_path: str | os.PathLike) -> Path:
    """Where the ONNX twin of a model file lives: ``X.keras`` -> ``X.onnx``."""
    return Path(model_path).with_suffix(".onnx")


def export_onnx(keras_model, path: str | os.PathLike, check_inputs: np.ndarray, scale: float = 1.0) -> None:
    """Write ``keras_model`` as ONNX to ``path`` (atomically), after checking the ONNX graph against Keras.

    ``check_inputs`` are uint8 model inputs (N, size, size, 3), as ``to_model_input`` makes them; ``scale``
    multiplies them before the model (1/255 for legacy notebook models). The export is refused (ModelError,
    nothing written) when the two disagree by more than TOLERANCE or in any top-1 class.
    """
    import tensorflow as tf
    import tf2onnx

    check_inputs = np.asarray(check_inputs)
    if check_inputs.dtype != np.uint8 or check_inputs.ndim != 4 or len(check_inputs) == 0:
        raise ValueError(
            f"check_inputs must be a non-empty uint8 batch (N, S, S, 3); got {check_inputs.dtype} {check_inputs.shape}."
        )
    size = check_inputs.shape[1]

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8, name="image")])
    def forward(image):
        return {"probabilities": keras_model(tf.cast(image, tf.float32) * scale, training=False)}

    try:
        proto, _ = tf2onnx.convert.from_function(
            forward,
            input_signature=forward.input_signature,
            opset=OPSET,
            custom_op_handlers={"ResizeArea": (_resize_area, [])},
        )
    except Exception as exc:  # tf2onnx raises many types for ops it cannot convert
        raise ModelError(f"The model cannot be exported to ONNX ({type(exc).__name__}: {exc}).") from exc
    data = proto.SerializeToString()
    expected = np.concatenate(
        [forward(check_inputs[i : i + 32])["probabilities"].numpy() for i in range(0, len(check_inputs), 32)]
    )
    got = Session(data, threads=max(1, os.cpu_count() or 1)).run(check_inputs)
    diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if diff > TOLERANCE or not np.array_equal(got.argmax(axis=1), expected.argmax(axis=1)):
        raise ModelError(
            f"The ONNX export does not reproduce the Keras model (largest difference {diff:.2g}); it was not written."
        )
    try:
        atomic_write_bytes(Path(path), data)
    except OSError as exc:
        raise ModelError(f"Cannot write the ONNX model to {path}: {exc.strerror or exc}.") from exc


def area_weights(size_in: int, size_out: int) -> np.ndarray:
    """TensorFlow's ResizeArea along one axis as a (size_out, size_in) matrix: each output pixel averages the
    input pixels its footprint ``[y, y + 1) * size_in / size_out`` overlaps, weighted by the overlap."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in), np.float64)
    for y in range(size_out):
        start, end = y * scale, (y + 1) * scale
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            weights[y, min(i, size_in - 1)] += min(i + 1, end) - max(i, start)
    return (weights / scale).astype(np.float32)


def _resize_area(ctx, node, name, args) -> None:
    """tf2onnx handler: ResizeArea as the exact linear map it is, two MatMuls on NCHW. tf2onnx's own
    conversion exports it as nearest-neighbour, which differs from Keras by up to half the ink range on
    any size that is not a whole multiple (e.g. the default model's 32 -> 56 pixel front)."""
    from onnx import TensorProto
    from tf2onnx import utils

    shape = ctx.get_shape(node.input[0])
    target = node.inputs[1].get_tensor_value() if node.inputs[1].is_const() else None
    if node.get_attr_value("align_corners", 0) or not shape or min(shape[1:3]) < 1 or target is None:
        raise ValueError("ResizeArea needs known sizes and align_corners=False")
    source = node.input[0]
    if ctx.get_dtype(source) != TensorProto.FLOAT:
        source = ctx.make_node("Cast", [source], {"to": TensorProto.FLOAT}).output[0]
    rows = ctx.make_const(utils.make_name("area_rows"), area_weights(shape[1], int(target[0])))
    cols = ctx.make_const(utils.make_name("area_cols"), area_weights(shape[2], int(target[1])).T.copy())
    nchw = ctx.make_node("Transpose", [source], {"perm": [0, 3, 1, 2]})
    tall = ctx.make_node("MatMul", [rows.output[0], nchw.output[0]])
    both = ctx.make_node("MatMul", [tall.output[0], cols.output[0]])
    shapes, dtypes = node.output_shapes, node.output_dtypes
    ctx.remove_node(node.name)
    ctx.make_node(
        "Transpose",
        both.output,
        {"perm": [0, 2, 3, 1]},
        name=node.name,
        outputs=node.output,
        shapes=shapes,
        dtypes=dtypes,
    )


class Session:
    """An ONNX Runtime session tuned for one input at a time: ``run(uint8 batch)`` -> probabilities.

    ``run_latest``/``supersede`` let a newer request stop a pass still running (ONNX Runtime's terminate
    flag), as the Keras path's interruptible pass does.
    """

    def __init__(self, model: str | os.PathLike | bytes, threads: int = INTRA_OP_THREADS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads must not spin: they would take the CPU from the GUI thread between passes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        source = model if isinstance(model, bytes) else str(model)
        try:
            self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid files
            raise ModelError(f"not a loadable ONNX model ({type(exc).__name__}: {exc})") from exc
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or inputs[0].type != "tensor(uint8)":
            raise ModelError("not a MathSym ONNX twin (one uint8 image input, one output expected)")
        self._input = inputs[0].name
        self.input_shape = tuple(inputs[0].shape)
        self.output_shape = tuple(outputs[0].shape)
        self._ort = ort
        self._newest = 0
        self._running: tuple[int, Any] | None = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) for a uint8 batch (N, size, size, 3)."""
        return self._session.run(None, {self._input: batch})[0]

    def run_latest(self, batch: np.ndarray, ticket: int) -> np.ndarray | None:
        """Like :meth:`run`, or None when :meth:`supersede` named a newer ticket before or while it ran."""
        options = self._ort.RunOptions()
        self._running = (ticket, options)
        if self._newest > ticket:
            return None
        try:
            return self._session.run(None, {self._input: batch}, options)[0]
        except Exception:
            if options.terminate:  # stopped by supersede
                return None
            raise
        finally:
            self._running = None

    def running(self) -> bool:
        """True while a :meth:`run_latest` pass is in progress."""
        return self._running is not None

    def supersede(self, ticket: int) -> None:
        """Thread-safe: a :meth:`run_latest` with an older ticket gives up (tickets must increase)."""
        self._newest = max(self._newest, ticket)
        running = self._running
        if running is not None and running[0] < ticket:
            running[1].terminate = True
