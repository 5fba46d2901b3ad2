"""The type each upload was declared as, handed from the request guard to the upload check.

Synapse's upload check (`check_media_file_for_spam`) is told the file but not the
Content-Type the client declared, which Synapse stores and serves the file with. The
request guard sees every upload request first; it notes the declared type under the
request's id, and the upload check, running in the same request (same Synapse process),
takes it back by that id (policy/declared_type.py judges the two together). Entries of
uploads that never reach the check (refused earlier, e.g. too large) are dropped oldest
first beyond a bound, so memory stays small.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_PENDING = 4096


class DeclaredTypes:
    """Request id -> the Content-Type header of an upload (None: none sent)."""

    def __init__(self, bound: int = MAX_PENDING) -> None:
        self.bound = bound
        self._pending: OrderedDict[str, str | None] = OrderedDict()

    def note(self, request_id: str, content_type: str | None) -> None:
        """Remember what this upload request declared."""
        self._pending[request_id] = content_type
        self._pending.move_to_end(request_id)
        while len(self._pending) > self.bound:
            self._pending.popitem(last=False)

    def take(self, request_id: str | None) -> tuple[bool, str | None]:
        """(known, declared type) for this request, forgotten once taken."""
        if request_id is None or request_id not in self._pending:
            return False, None
        return True, self._pending.pop(request_id)

    def __len__(self) -> int:
        return len(self._pending)
