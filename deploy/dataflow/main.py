"""Entry point of newsbeam's Flex Template launcher (FLEX_TEMPLATE_PYTHON_PY_FILE).

The launcher runs this file with the launch's parameters as flags; it
submits the streaming job and exits.  Everything else lives in the
installed ``newsbeam`` package (``pipeline.template``).
"""

import sys

from pipeline.template import main

if __name__ == "__main__":
    sys.exit(main())
