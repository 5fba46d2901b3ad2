"""Uploads through the real Synapse + Carebridge module: judged by the whole content.

A staff member with a raw Client-Server API client tries every active-content case of
docs/admin/file-rules.md, under any name and Content-Type; each is refused with the
organisation's message. A photo declared as a web page (or as anything it is not) is
refused. What clinicians send (a photo, a PDF, Office documents, audio,
video, text, CSV) uploads and can be shared in a direct message.
"""

from __future__ import annotations

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse

from config.settings import FilesSettings
from policy.staff_decision import Reason
from tests import file_samples
from tests.harness.stack import Stack
from tests.staff_helpers import client_api, refusal_count

MESSAGE = FilesSettings().forbidden_type_message
REFUSED = {
    Reason.UPLOAD_ACTIVE_CONTENT.value,
    Reason.UPLOAD_DECLARED_ACTIVE.value,
    Reason.UPLOAD_DECLARED_MISMATCH.value,
}
# What a hostile client claims for each case: the name and type say "harmless".
CLAIMS = {
    "html-named-png": ("scan.png", "image/png"),
    "html-as-text-html": ("page.html", "text/html"),
    "svg-with-script": ("chart.svg", "image/svg+xml"),
    "zip-exe-dressed-as-docx": (
        "invoice.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "png-with-zip-appended": ("wound.png", "image/png"),
    "text-with-zip-after-8k": ("notes.txt", "text/plain"),
    "xhtml-namespaced": ("notes.txt", "text/plain"),
    "gif-js-polyglot": ("smile.gif", "image/gif"),
}
# The type each kind of picture or document honestly declares (so only the content refuses).
HONEST = {"png": "image/png", "gif": "image/gif", "jpeg": "image/jpeg", "pdf": "application/pdf"}


async def _upload(client: AsyncClient, data: bytes, name: str, ctype: str) -> tuple[int, dict[str, str]]:
    path = f"/_matrix/media/v3/upload?filename={name}"
    status, body = await client_api(client, "POST", path, data=data, content_type=ctype)
    return status, body


async def test_active_content_is_refused_by_its_content(stack: Stack) -> None:
    """Every hostile case, declared as the kind of file it starts like (or as plain bytes),
    is refused 403 M_FORBIDDEN with the organisation's words by the whole-content check,
    which names the case; pictures and PDFs that carry something else say what."""
    user, password = await stack.create_user()
    client = await stack.login(user, password)
    before = await refusal_count(stack.hs_url, Reason.UPLOAD_ACTIVE_CONTENT.value)
    try:
        for case, data in file_samples.hostile().items():
            declared = HONEST.get(case.split("-", 1)[0], "application/octet-stream")
            status, body = await _upload(client, data, "upload.bin", declared)
            assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), (case, body)
            assert body["error"].startswith(MESSAGE), (case, body)
            assert body["org.carebridge.reason"] == Reason.UPLOAD_ACTIVE_CONTENT.value, (case, body)
            assert body["org.carebridge.case"], (case, body)
            if case.startswith(("png-html", "gif-", "jpeg-", "pdf-with-html", "pdf-with-java")):
                assert body["error"] != MESSAGE, (case, "a polyglot's refusal says what it carries")
        after = await refusal_count(stack.hs_url, Reason.UPLOAD_ACTIVE_CONTENT.value)
        assert after == before + len(file_samples.hostile())
    finally:
        await client.close()


async def test_active_content_is_refused_under_any_name_and_claimed_type(stack: Stack) -> None:
    """The same files under names and types that say "harmless": each is refused, by the
    type it was declared as (a web page, or not what the content is) or by its content."""
    user, password = await stack.create_user()
    client = await stack.login(user, password)
    try:
        for case, data in file_samples.hostile().items():
            name, content_type = CLAIMS.get(case, ("report.pdf", "application/pdf"))
            status, body = await _upload(client, data, name, content_type)
            assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), (case, body)
            assert body["org.carebridge.reason"] in REFUSED, (case, body)
    finally:
        await client.close()


async def test_a_photo_declared_as_a_web_page_or_as_something_else_is_refused(stack: Stack) -> None:
    """What a client says a file is, is what is served: a PNG or JPEG declared as HTML,
    XHTML, XML or SVG is refused (today Synapse stores it and serves it back with that
    type), and so is one declared as a PDF or as text."""
    user, password = await stack.create_user()
    client = await stack.login(user, password)
    try:
        for data in (file_samples.photo_png(), file_samples.photo_jpeg()):
            for declared in ("text/html", "application/xhtml+xml", "text/xml", "image/svg+xml"):
                status, body = await _upload(client, data, "photo.html", declared)
                assert status == 403, (declared, body)
                assert body["org.carebridge.reason"] == Reason.UPLOAD_DECLARED_ACTIVE.value, body
                assert "web page or script" in body["error"]
            for declared in ("application/pdf", "text/plain"):
                status, body = await _upload(client, data, "photo.pdf", declared)
                assert status == 403, (declared, body)
                assert body["org.carebridge.reason"] == Reason.UPLOAD_DECLARED_MISMATCH.value, body
        honest = [
            (file_samples.photo_png(), "image/png"),
            (file_samples.photo_jpeg(), "image/jpg"),
            (file_samples.pdf(), "application/pdf"),
            (file_samples.CSV_UTF8, "text/csv"),
            (
                file_samples.word_docx(),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (file_samples.audio_wav(), "audio/x-wav"),
            (file_samples.video_mp4(), "video/mp4"),
        ]
        for data, declared in honest:
            status, body = await _upload(client, data, "file", declared)
            assert status == 200 and body["content_uri"].startswith("mxc://"), (declared, body)
    finally:
        await client.close()


async def test_what_clinicians_send_uploads_and_is_shared(stack: Stack) -> None:
    """Photos, PDFs, Word/Excel files, audio, video, text and CSV upload; a photo and a PDF
    are then sent into a DM."""
    user, password = await stack.create_user()
    peer, _ = await stack.create_user()
    client = await stack.login(user, password)
    try:
        uris = {}
        for case, data in file_samples.legitimate().items():
            status, body = await _upload(client, data, f"{case}.bin", "application/octet-stream")
            assert status == 200 and body["content_uri"].startswith("mxc://"), (case, body)
            uris[case] = body["content_uri"]
        created = await client.room_create(is_direct=True, invite=[peer])
        assert isinstance(created, RoomCreateResponse), created
        for case, msgtype in (("photo-jpeg", "m.image"), ("pdf", "m.file")):
            content = {"msgtype": msgtype, "body": case, "url": uris[case]}
            sent = await client.room_send(created.room_id, "m.room.message", content)
            assert isinstance(sent, RoomSendResponse), sent
    finally:
        await client.close()
