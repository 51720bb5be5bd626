"""Serving: the model card, saving and loading models, prediction and the interruptible forward pass. What
the pad and ``predict`` use; TensorFlow is imported only when a model needs it."""
