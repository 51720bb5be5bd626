"""Data: reading images, the Kaggle dataset and its notebook split, the one preprocessing function, augmentation,
stroke templates and the preprocessed-array cache. No TensorFlow at import, except ``augment``."""
