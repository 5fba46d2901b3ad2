"""Staff experience: client-created channels, the DM registry and calls."""
