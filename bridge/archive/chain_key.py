"""Giving an archive its chain key: at `carebridge init`, or at the first start after an
upgrade from a version without one.

The chain key lives in the archive keyring (outside the database), next to the AES keys, so
backups, restores and rotations carry it the way they carry those. An archive that already
has rows gets a key that covers the rows written from now on: `from_seq` is the head + 1,
and `carebridge archive verify` says from which row the keyed protection starts. Creating
it is serialised by an exclusive lock on the key file, so a bridge and a CLI starting at
the same moment agree on one key. 45 CFR 164.312(c)(2) mechanism to authenticate ePHI.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import ChainKey
from bridge.archive.keyring import Keyring, KeyringError, LiveKeyring
from bridge.archive.writer import read_head
from bridge.core.files import write_private

log = logging.getLogger(__name__)


async def _next_seq(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        seq, _ = await read_head(conn)
    return seq + 1


async def ensure_chain_key(engine: AsyncEngine, keyring: LiveKeyring) -> ChainKey | None:
    """The keyring's chain key, added to its file first if it has none (rows from the
    current head + 1 on are covered). With the keys in the environment variable nothing
    can be written: None then, and a warning that new rows are not MACed."""
    chain = keyring.chain_key()
    if chain is not None:
        return chain
    if keyring.from_env:
        log.warning(
            "the archive keyring in $%s has no chain key: new rows are not MACed; add a "
            "`chain` part where that value is kept (docs/operator/keys.md)",
            keyring.env_var,
        )
        return None
    path = keyring.key_file
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Re-read under the lock: another process may have added one (and replaced the file).
        ring = Keyring.load(path)
        if ring.chain is None:
            ring = ring.with_chain(ChainKey.generate(await _next_seq(engine)))
            write_private(path, ring.dumps())
            log.warning(
                "archive keyring had no chain key: one was added, covering rows from %d on; back up %s again",
                ring.chain.from_seq if ring.chain else 0,
                path,
            )
    finally:
        os.close(fd)
    keyring.reload()
    return keyring.chain_key()


def chain_key_for(path: Path, env_var: str | None) -> ChainKey | None:
    """The chain key of a keyring (env var or file), for verification; None if the keyring
    cannot be read or has none."""
    try:
        return Keyring.load(path, env_var).chain
    except (KeyringError, OSError):  # verify says the keyed part was not checked
        return None
