"""MathSym's trainer: data, models, training, evaluation, reports and prediction (no Qt)."""

__version__ = "0.1.0"
