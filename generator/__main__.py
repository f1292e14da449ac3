"""`python -m generator [--check] [--out DIR]`: write (or check) everything under generated/."""

from __future__ import annotations

import sys

from generator.generate import main

sys.exit(main())
