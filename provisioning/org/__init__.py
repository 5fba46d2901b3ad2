"""Organisation reconciliation: org.yaml (desired) vs Synapse and the directory (current) -> plan -> apply."""
