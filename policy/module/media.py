"""Synapse callbacks for uploads: the size limit, the allowed file types, active content.

Synapse's own refusals for these callbacks carry fixed texts ("Upload request body is
too large", "Bad content"), so the callbacks raise the module API's SynapseError with
the organisation's configured message instead; the decision itself is made by the pure
rules of policy/files.py and policy/file_content.py over the **whole** file (read in a
thread; it is at most the configured size), then policy/declared_type.py (the
Content-Type the client declared, noted for this request by the request guard, against
the content), inside a guarded function (an unexpected error refuses). A refused file
is removed by Synapse before it is recorded. Every refusal counts in
`carebridge_policy_refusals_total{reason}`.
Synapse's `max_upload_size` is rendered at twice the configured limit, so this
module, not Synapse, answers for a file just over it, with the configured message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import Codes, SynapseError

from policy.decision import TOO_LARGE, Decision
from policy.declared_type import decide_declared_type
from policy.event_types import CASE_KEY, REASON_KEY
from policy.files import decide_file, decide_upload_size
from policy.module.declared_uploads import DeclaredTypes
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.module.sessions import current_request
from policy.staff_decision import Reason, refuse

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig

log = logging.getLogger("carebridge.module")

FILE_CHECK_FAILED: Decision = refuse(
    Reason.UPLOAD_TYPE, "Carebridge could not check this file; please try again or contact IT."
)

CONTENT_CHECK_FAILED: Decision | None = FILE_CHECK_FAILED
NO_MEDIA_CONFIG: dict[str, Any] | None = None


def _read_whole(path: str, limit: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(limit + 1)


def _raise_if_refused(decision: Decision) -> None:
    if decision.allowed:
        return
    count_refusal(str(decision.reason))
    extra = {REASON_KEY: str(decision.reason)}
    if decision.detail is not None:
        extra[CASE_KEY] = decision.detail
    if decision.errcode == TOO_LARGE:
        raise SynapseError(413, decision.message or "Too large", Codes.TOO_LARGE, additional_fields=extra)
    raise SynapseError(403, decision.message or "Not allowed", Codes.FORBIDDEN, additional_fields=extra)


class MediaRules:
    """Upload callbacks bound to the module's file policy."""

    def __init__(self, config: ModuleConfig, api: ModuleApi, declared: DeclaredTypes | None = None) -> None:
        self.files = config.staff.files
        self.api = api
        self.bot = config.bot_user_id
        # What each upload request declared its type as, noted by the request guard.
        self.declared = declared if declared is not None else DeclaredTypes()

    def register(self) -> None:
        """Register the media-repository and media spam-check callbacks."""
        self.api.register_media_repository_callbacks(
            get_media_config_for_user=self.get_media_config_for_user,
            is_user_allowed_to_upload_media_of_size=self.is_user_allowed_to_upload_media_of_size,
        )
        self.api.register_spam_checker_callbacks(check_media_file_for_spam=self.check_media_file_for_spam)

    @guarded(on_error=NO_MEDIA_CONFIG)
    async def get_media_config_for_user(self, user_id: str) -> dict[str, Any] | None:
        """Tell clients the real limit (`m.upload.size`), so they can warn before sending."""
        return {"m.upload.size": self.files.max_bytes}

    @guarded(on_error=FILE_CHECK_FAILED)
    async def _size_decision(self, user_id: str, size: int) -> Decision:
        return decide_upload_size(self.files, size)

    async def is_user_allowed_to_upload_media_of_size(self, user_id: str, size: int) -> bool:
        """Refuse an upload over the limit with the configured message (HTTP 413)."""
        decision = await self._size_decision(user_id, size)
        if not decision.allowed:
            log.info("refused upload by %s: %s (%d bytes)", user_id, decision.reason, size)
        _raise_if_refused(decision)
        return True

    @guarded(on_error=CONTENT_CHECK_FAILED)
    async def _content_decision(self, file_wrapper: Any, file_info: Any) -> Decision | None:
        if file_info.server_name is not None or file_info.thumbnail is not None or file_info.url_cache:
            return None  # thumbnails are made by Synapse itself; there is no federation
        request = current_request()
        _, declared = self.declared.take(request.request_id if request is not None else None)
        if await self._reserved_by(str(file_info.file_id)) == self.bot:
            return None  # Carebridge's own files (the compliance report is an HTML page)
        data = await self.api.defer_to_thread(_read_whole, str(file_wrapper.path), self.files.max_bytes)
        if len(data) > self.files.max_bytes:
            return decide_upload_size(self.files, len(data))
        # The content first: a file of a type the deployment does not take is refused with
        # the deployment's own words, whatever it was declared as.
        as_content = await self.api.defer_to_thread(decide_file, self.files, data)
        if not as_content.allowed:
            return as_content
        return decide_declared_type(declared, data)

    async def _reserved_by(self, media_id: str) -> str | None:
        """Who reserved this media id beforehand (POST /_matrix/media/v1/create), if anyone.

        The spam check is not told the uploader; an id reserved first already has its row.
        The bot reserves before it uploads, so its own files are recognised; staff who do
        the same are simply checked as themselves."""

        def lookup(txn: Any) -> str | None:
            txn.execute("SELECT user_id FROM local_media_repository WHERE media_id = ?", (media_id,))
            row = txn.fetchone()
            return str(row[0]) if row and row[0] else None

        return await self.api.run_db_interaction("carebridge_media_reserved_by", lookup)

    async def check_media_file_for_spam(self, file_wrapper: Any, file_info: Any) -> Literal["NOT_SPAM"]:
        """Refuse a file whose content is not an allowed type, with the configured message."""
        decision = await self._content_decision(file_wrapper, file_info)
        if decision is None:
            return NOT_SPAM
        if not decision.allowed:
            log.info("refused upload media_id=%s: %s", file_info.file_id, decision.reason)
        _raise_if_refused(decision)
        return NOT_SPAM
