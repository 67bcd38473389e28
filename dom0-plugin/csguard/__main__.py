"""`python3 -m csguard ...` runs the command line."""
import sys

from csguard.cli import main

sys.exit(main())
