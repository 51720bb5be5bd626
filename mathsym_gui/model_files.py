"""Which model the app starts with (the rules live in trainer.paths) and the file-dialog filter."""

from trainer.paths import MODELS_DIR, find_model

MODEL_FILTER = "Models (*.keras *.h5);;Keras models (*.keras);;Notebook models (*.h5)"

__all__ = ["MODELS_DIR", "MODEL_FILTER", "find_model"]
