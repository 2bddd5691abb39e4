"""``python -m gram_rr.eval``: see :mod:`gram_rr.eval.cli`."""

import sys

from gram_rr.eval.cli import main

if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
