"""End-to-end tests: a real Synapse, the bridge, CLI subprocesses, browsers."""
