"""The bridge's health: readiness that tells the truth about the pipe into the archive."""
