"""``python -m gram_rr.analyze``: see :mod:`gram_rr.analyze.cli`."""

import sys

from gram_rr.analyze.cli import main

if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
