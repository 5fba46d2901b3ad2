"""`python -m bridge -c carebridge.yaml`: the same as `carebridge bridge`."""

from __future__ import annotations

import sys

from bridge.main import main

if __name__ == "__main__":
    sys.exit(main())
