"""Shared plumbing: the Synapse HTTP client, Matrix errors, room operations, clock, tasks,
metrics, logging."""
