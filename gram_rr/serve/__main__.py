"""``python -m gram_rr.serve``: see :mod:`gram_rr.serve.cli`."""

import sys

from gram_rr.cli_errors import run_cli
from gram_rr.serve.cli import main

sys.exit(run_cli(main))
