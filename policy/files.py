"""Uploads: a size limit and a list of allowed file types, from carebridge.yaml.

45 CFR 164.308(a)(5)(ii)(B) protection from malicious software (executables, scripts
and archives are not accepted unless the organisation allows them) and 164.312(c)(1)
integrity. The type is judged from the file's whole **content** (policy/file_content.py),
never from the name or the Content-Type the client claims, which anyone can set.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace

from policy.decision import TOO_LARGE, Decision
from policy.file_content import TEXT_PLAIN, inspect_content
from policy.staff_decision import Reason, allow, refuse


@dataclass(frozen=True)
class FilePolicy:
    """The `files:` section of carebridge.yaml, as the Synapse module receives it."""

    max_bytes: int
    allowed_types: tuple[str, ...]
    too_large_message: str
    forbidden_type_message: str

    def message_too_large(self) -> str:
        """The size refusal with `{max_upload_mb}` filled in."""
        mb = self.max_bytes / (1024 * 1024)
        shown = f"{mb:.0f}" if mb == int(mb) else f"{mb:.1f}"
        return self.too_large_message.replace("{max_upload_mb}", shown)


def decide_upload_size(policy: FilePolicy, size: int) -> Decision:
    """Refuse an upload larger than the configured limit, with the configured message."""
    if size > policy.max_bytes:
        return refuse(Reason.UPLOAD_TOO_LARGE, policy.message_too_large(), TOO_LARGE)
    return allow()


# What staff read after the organisation's message when a file that looks allowed (a photo,
# a PDF) carries something else: the generic "images and PDFs are allowed" would puzzle.
CASE_SENTENCES = {
    "markup-in-image-metadata": "This picture carries a web page or script inside it.",
    "image-is-also-a-script": "This picture is made to run as a script too.",
    "data-after-the-image": (
        "This picture has other data hidden after the image; share a screenshot or an export of it instead."
    ),
    "data-after-the-document": "This PDF has other data hidden after its end; print it to a new PDF first.",
    "pdf-javascript-or-launch": (
        "This PDF contains scripts or starts programs; print it to a new PDF to remove them."
    ),
    "markup-in-document": "This PDF carries a web page inside it; print it to a new PDF first.",
}


def decide_file(policy: FilePolicy, data: bytes) -> Decision:
    """Judge a whole uploaded file: active content is refused whatever the allowed types
    say; anything else must be of an allowed type. Both answer with the organisation's
    message; the reason code tells them apart, and an active-content refusal names its
    case (`detail`), explained to staff where the file otherwise looks allowed."""
    verdict = inspect_content(data)
    if verdict.active is not None:
        sentence = CASE_SENTENCES.get(verdict.active)
        message = f"{policy.forbidden_type_message} {sentence}" if sentence else policy.forbidden_type_message
        return replace(refuse(Reason.UPLOAD_ACTIVE_CONTENT, message), detail=verdict.active)
    if mime_allowed(verdict.mime, policy.allowed_types):
        return allow()
    return refuse(Reason.UPLOAD_TYPE, policy.forbidden_type_message)


def mime_allowed(mime: str, allowed: Sequence[str]) -> bool:
    """Whether `mime` matches one of the allowed types or patterns (image/*, ...).

    Text has no signature, so sniffed text/plain is accepted when any text/ type is
    allowed (a CSV file sniffs as text/plain).
    """
    mime = mime.lower()
    if mime == TEXT_PLAIN and any(a.startswith("text/") for a in allowed):
        return True
    return any(fnmatch.fnmatchcase(mime, pattern) for pattern in allowed)
