"""What a client says a file is must be what it is: the Content-Type of an upload.

45 CFR 164.308(a)(5)(ii)(B) protection from malicious software; 164.312(c)(1) integrity.
Synapse stores the type the client declares and serves the file with it. A photo declared
as `text/html` (or XHTML, XML, SVG, JavaScript) is a web page to any tool that trusts the
type (a browser opening the download, a proxy, another client), and a file that is two
things at once runs as the second. So an upload is refused when:

* its declared type is one a browser renders or runs (`text/html`, `application/xhtml+xml`,
  `text/xml`, `application/xml`, any `+xml` type such as `image/svg+xml`, JavaScript or
  ECMAScript, `multipart/*`), whatever the content; or
* the content has a signature (or is text) and the declared type is of another kind: a
  picture declared as a PDF or as text, text declared as a picture. Kinds are images,
  audio and video (one kind: phones label voice notes either way), text, and documents
  (`application/*`).

No declared type, or `application/octet-stream`, is always accepted (Synapse serves such a
file only as a download); the whole content is judged anyway (policy/file_content.py).
The request guard (policy/module/request_guard.py) notes the declared type of each upload
request; the upload check (policy/module/media.py) asks this rule with it and the file.

Pure: a header value and bytes in, a Decision out.
"""

from __future__ import annotations

import re

import filetype

from policy.decision import Decision
from policy.file_content import OCTET_STREAM, SIGNATURE_BYTES, TEXT_PLAIN, looks_like_text
from policy.staff_decision import Reason, allow, refuse

# Where uploads arrive (POST a new file; PUT into an id reserved with /create).
UPLOAD_PATH = re.compile(r"^/_matrix/(?:media/[^/]+/upload|client/[^/]+/media/upload)(?:/[^/]+/[^/]+)?$")
ACTIVE_DECLARED = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
    }
)
TEXT_LIKE_APPLICATION = frozenset(
    {"application/json", "application/csv", "application/x-csv", "application/x-yaml"}
)
MAX_TYPE = 255

DECLARED_ACTIVE_MESSAGE = (
    "This file was sent as a web page or script, which cannot be shared here. If it is a "
    "photo or document, attach it again; to share a web page, save it as a PDF."
)
DECLARED_MISMATCH_MESSAGE = (
    "This file's content is not what the app says it is ({declared} declared, {sniffed} "
    "inside), so it cannot be shared. Attach the file again, or ask IT."
)


def essence(declared: str | None) -> str:
    """The `type/subtype` of a Content-Type header, lower-cased ("" when absent)."""
    if not declared:
        return ""
    return declared.split(";", 1)[0].strip().lower()[:MAX_TYPE]


def is_active_type(mime: str) -> bool:
    """A type a browser renders as a page or runs as a script."""
    return (
        mime in ACTIVE_DECLARED
        or mime.endswith("+xml")
        or "javascript" in mime
        or "ecmascript" in mime
        or mime.startswith("multipart/")
    )


def _kind(mime: str) -> str:
    major = mime.split("/", 1)[0]
    if major in ("audio", "video") or mime == "application/ogg":
        return "media"
    if mime in TEXT_LIKE_APPLICATION:
        return "text"
    return major


def sniff_head(head: bytes) -> str | None:
    """The type the first bytes show: a signature's type, text/plain for text, None when
    unknown (the whole-content check decides those)."""
    kind = filetype.guess(head[:SIGNATURE_BYTES]) if head else None
    if kind is not None:
        return str(kind.mime)
    return TEXT_PLAIN if head and looks_like_text(head[:SIGNATURE_BYTES]) else None


def decide_declared_type(declared: str | None, head: bytes) -> Decision:
    """Refuse an upload whose declared type is active, or of another kind than its content."""
    mime = essence(declared)
    if not mime or mime == OCTET_STREAM:
        return allow()
    if is_active_type(mime):
        return refuse(Reason.UPLOAD_DECLARED_ACTIVE, DECLARED_ACTIVE_MESSAGE)
    sniffed = sniff_head(head)
    if sniffed is None or sniffed == mime or _kind(sniffed) == _kind(mime):
        return allow()
    safe = re.sub(r"[^a-z0-9.+/-]", "", mime)[:80]
    return refuse(
        Reason.UPLOAD_DECLARED_MISMATCH, DECLARED_MISMATCH_MESSAGE.format(declared=safe, sniffed=sniffed)
    )
