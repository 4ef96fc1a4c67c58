"""``python -m chatserver``: the same as the ``chatserver`` command."""

import sys

from .cli import main

sys.exit(main())
