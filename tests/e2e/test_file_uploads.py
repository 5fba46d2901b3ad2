"""Uploads through the real Synapse + Carebridge module: judged by the whole content.

A staff member with a raw Client-Server API client tries every active-content case of
docs/admin/file-rules.md, under any name and Content-Type; each is refused with the
organisation's message. What clinicians send (a photo, a PDF, Office documents, audio,
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
}


async def _upload(client: AsyncClient, data: bytes, name: str, ctype: str) -> tuple[int, dict[str, str]]:
    path = f"/_matrix/media/v3/upload?filename={name}"
    status, body = await client_api(client, "POST", path, data=data, content_type=ctype)
    return status, body


async def test_active_content_is_refused_under_any_name_and_type(stack: Stack) -> None:
    """Every hostile case is refused 403 M_FORBIDDEN with the organisation's words."""
    user, password = await stack.create_user()
    client = await stack.login(user, password)
    before = await refusal_count(stack.hs_url, Reason.UPLOAD_ACTIVE_CONTENT.value)
    try:
        for case, data in file_samples.hostile().items():
            name, content_type = CLAIMS.get(case, ("report.pdf", "application/pdf"))
            status, body = await _upload(client, data, name, content_type)
            assert (status, body.get("errcode"), body.get("error")) == (403, "M_FORBIDDEN", MESSAGE), case
            assert body["org.carebridge.reason"] == Reason.UPLOAD_ACTIVE_CONTENT.value, case
        after = await refusal_count(stack.hs_url, Reason.UPLOAD_ACTIVE_CONTENT.value)
        assert after == before + len(file_samples.hostile())
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
