"""Model architectures, one short module each; every model takes raw 0-255 RGB and scales inside."""
