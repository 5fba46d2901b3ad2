"""Pure tests: no database, no Synapse, no network; `make test-fast` runs these in seconds."""
