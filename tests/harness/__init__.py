"""Test harness: a real Synapse and the real bridge on free loopback ports."""
