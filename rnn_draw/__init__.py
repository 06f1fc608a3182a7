"""The project's package, one folder per layer below and above `util` (the tutorial's story):

    the scripts -> rnn_draw.commands (orchestration) -> util -> rnn_draw.library -> config

`rnn_draw.library` never imports `util` or `rnn_draw.commands`; `util` never imports
`rnn_draw.commands`; nothing imports the scripts. tests/test_house.py checks it.

Every script imports this package before anything that needs a recent Python, so an older one is
refused here in one line (exit 2), in syntax any Python 3 reads.
"""

import sys

NEEDS_PYTHON = (3, 11)

if sys.version_info < NEEDS_PYTHON:
    sys.stderr.write("%s: error: this is Python %d.%d (%s); the project needs Python %d.%d or later: run the scripts "
                     "with .venv/bin/python (`make venv` makes it)\n"
                     % ((sys.argv[0].rsplit("/", 1)[-1] or "rnn_draw",) + tuple(sys.version_info[:2])
                        + (sys.executable,) + NEEDS_PYTHON))
    raise SystemExit(2)
