"""``python -m player`` is the same as ``stallwatch``."""

import sys

from player.app import main

sys.exit(main())
