"""``python -m mathsym_gui`` starts the drawing pad."""

import sys

from .app import main

sys.exit(main())
