"""`python -m shortstack` runs the command line."""

import sys

from shortstack.cli import main

sys.exit(main())
