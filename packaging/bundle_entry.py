"""PyInstaller entry point of the one-folder bundle: the same as the `stallwatch` command."""

import sys

from player.app import main

if __name__ == "__main__":
    sys.exit(main())
