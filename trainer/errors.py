"""User-facing errors: their message is shown as is (CLI: one stderr line; GUI: a dialog)."""


class MathSymError(Exception):
    """A problem the user can act on; str(error) is a complete sentence."""


class ImageError(MathSymError):
    """An image that cannot be read or used."""


class EmptyImageError(ImageError):
    """An image with no ink on it (e.g. an empty canvas)."""


class DatasetError(MathSymError):
    """A dataset folder that cannot be used."""


class ModelError(MathSymError):
    """A model file that cannot be loaded or does not match its card."""


class Cancelled(MathSymError):
    """A long job was cancelled by the user; nothing was written."""


class TrainingDiverged(MathSymError):
    """Training blew up (the model's outputs are not numbers); the model was not saved."""
