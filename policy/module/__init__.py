"""The Synapse module: thin adapters that apply the pure rules in policy/ inside Synapse."""
