"""The archive: transaction writer, hash chain, keys, heads, media copies, verification,
export and the post-commit dispatcher."""
