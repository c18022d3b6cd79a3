"""`python -m farmtrace.api.cli …` runs the `farmtrace` command (as the tests' subprocesses do)."""

import sys

from .parser import main

sys.exit(main())
