"""`python -m bridge -c carebridge.yaml`: the same as `carebridge bridge`."""

from __future__ import annotations

import sys

from provisioning.cli import main

if __name__ == "__main__":
    main(prog_name="carebridge", args=["bridge", *sys.argv[1:]])
