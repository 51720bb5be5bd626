"""``python -m trainer``: the same command line as ``mathsym-train``."""

import sys

from trainer.cli import main

sys.exit(main())
