"""What a client says a file is must be what it is: the declared Content-Type of an upload
against its first bytes (pure rule), and the request guard that applies it before Synapse
stores anything (no Synapse)."""

from __future__ import annotations

import io
import json

import pytest
from prometheus_client import REGISTRY
from twisted.web.http_headers import Headers

from policy.declared_type import UPLOAD_PATH, decide_declared_type, essence
from policy.module.request_guard import JsonAnswer, RequestGuard
from policy.staff_decision import Reason
from tests import file_samples

PNG = file_samples.photo_png()
JPEG = file_samples.photo_jpeg()
PDF = file_samples.pdf()
TEXT = file_samples.PLAIN_TEXT


@pytest.mark.parametrize(
    "declared",
    [
        "text/html",
        "text/html; charset=utf-8",
        "TEXT/HTML",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "image/svg+xml",
        "application/javascript",
        "text/javascript",
        "application/x-ecmascript",
        "multipart/x-mixed-replace; boundary=x",
    ],
)
@pytest.mark.parametrize("content", [PNG, JPEG, TEXT])
def test_a_web_page_or_script_type_is_refused_whatever_the_content(declared: str, content: bytes) -> None:
    """A photo sent as text/html is a page to any tool that trusts the type."""
    decision = decide_declared_type(declared, content)
    assert not decision.allowed and decision.reason is Reason.UPLOAD_DECLARED_ACTIVE
    assert decision.message is not None and "web page or script" in decision.message


@pytest.mark.parametrize(
    ("declared", "content"),
    [
        ("application/pdf", PNG),
        ("text/plain", JPEG),
        ("image/png", PDF),
        ("image/jpeg", TEXT),
        ("audio/mpeg", PNG),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", JPEG),
    ],
)
def test_content_of_another_kind_than_declared_is_refused(declared: str, content: bytes) -> None:
    decision = decide_declared_type(declared, content)
    assert not decision.allowed and decision.reason is Reason.UPLOAD_DECLARED_MISMATCH
    assert decision.message is not None and essence(declared) in decision.message


@pytest.mark.parametrize(
    ("declared", "content"),
    [
        (None, PNG),
        ("", JPEG),
        ("application/octet-stream", PNG),
        ("image/png", PNG),
        ("image/jpg", JPEG),  # the common misspelling: still a picture
        ("image/jpeg", PNG),  # a picture of another format: served as a picture either way
        ("application/pdf", PDF),
        ("text/plain; charset=utf-8", TEXT),
        ("text/csv", file_samples.CSV_UTF8),
        ("application/json", b'{"bed": 4}'),
        ("audio/mp4", file_samples.video_mp4()),  # a voice note in an MP4 box
        ("audio/x-wav", file_samples.audio_wav()),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", file_samples.word_docx()),
        ("application/msword", b"\x8f\x00\x01unknown binary"),  # no signature: judged by content
    ],
)
def test_what_clients_really_declare_passes(declared: str | None, content: bytes) -> None:
    assert decide_declared_type(declared, content).allowed


def test_upload_paths() -> None:
    for path in (
        "/_matrix/media/v3/upload",
        "/_matrix/media/r0/upload",
        "/_matrix/media/v1/upload",
        "/_matrix/media/v3/upload/hs/AbC123",
        "/_matrix/client/v1/media/upload",
    ):
        assert UPLOAD_PATH.match(path), path
    for path in ("/_matrix/media/v3/download/hs/x", "/_matrix/media/v1/create", "/_matrix/client/v3/upload"):
        assert not UPLOAD_PATH.match(path), path


class Upload:
    """The parts of a Twisted request the guard reads."""

    def __init__(self, method: bytes, path: bytes, body: bytes, content_type: str | None) -> None:
        self.method, self.path, self.content = method, path, io.BytesIO(body)
        self.requestHeaders = Headers()
        if content_type is not None:
            self.requestHeaders.setRawHeaders(b"Content-Type", [content_type.encode()])


def test_guard_refuses_a_photo_declared_as_a_web_page_before_synapse_stores_it() -> None:
    guard = RequestGuard(frozenset())
    synapse_media = JsonAnswer(200, {"content_uri": "mxc://hs/x"})
    guard.putChild(b"media", synapse_media)
    label = {"reason": Reason.UPLOAD_DECLARED_ACTIVE.value}
    before = REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) or 0.0
    page = Upload(b"POST", b"/_matrix/media/v3/upload", PNG, "text/html")
    refused = guard.getChildWithDefault(b"media", page)
    assert isinstance(refused, JsonAnswer) and refused.code == 403
    body = json.loads(refused.body)
    assert (body["errcode"], body["org.carebridge.reason"]) == ("M_FORBIDDEN", "upload-declared-active-type")
    assert REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) == before + 1
    photo = Upload(b"PUT", b"/_matrix/media/v3/upload/hs/AbC", PNG, "image/png")
    assert guard.getChildWithDefault(b"media", photo) is synapse_media
    assert photo.content.tell() == 0, "the body is rewound for Synapse"
    download = Upload(b"GET", b"/_matrix/media/v3/download/hs/AbC", b"", None)
    assert guard.getChildWithDefault(b"media", download) is synapse_media
