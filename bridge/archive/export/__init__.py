"""Export: decrypted archive streams, relations between events, and audited export jobs."""
