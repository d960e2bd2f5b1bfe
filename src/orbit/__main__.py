"""``python -m orbit``: the ``orbit`` command."""

import sys

from orbit.cli import main

sys.exit(main())
