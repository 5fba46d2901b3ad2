"""Pure policy decisions (no I/O), shared by the Synapse module and the bridge."""
