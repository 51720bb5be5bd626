"""Training: the run shared by every architecture (``runs``), one module per architecture, Hyperband tuning,
the VGG19 feature cache and the Keras progress callback. Everything here may import TensorFlow."""
