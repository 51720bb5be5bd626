"""``python -m trainer.cli`` (what the pad runs as its job process)."""

import sys

from trainer.cli.main import main

sys.exit(main())
