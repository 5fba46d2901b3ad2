"""What a client says a file is must be what it is: the declared Content-Type of an upload
against its content (pure rule); the request guard notes it, the upload check judges it
(Mock(spec=ModuleApi), no Synapse)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import Mock

import pytest
from prometheus_client import REGISTRY
from synapse.module_api import ModuleApi
from synapse.module_api.errors import SynapseError
from twisted.web.http_headers import Headers

from policy.declared_type import UPLOAD_PATH, decide_declared_type, essence
from policy.module.config import ModuleConfig
from policy.module.declared_uploads import DeclaredTypes
from policy.module.media import MediaRules
from policy.module.request_guard import JsonAnswer, RequestGuard
from policy.session_reason import RequestFacts
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

    def get_request_id(self) -> str:
        return f"{self.method.decode()}-{id(self)}"


def test_guard_notes_each_uploads_declared_type_for_the_upload_check() -> None:
    """The guard hands uploads to Synapse untouched (body not read), noting what each
    declared under the request's id; other requests note nothing."""
    declared = DeclaredTypes()
    guard = RequestGuard(frozenset(), declared=declared)
    synapse_media = JsonAnswer(200, {"content_uri": "mxc://hs/x"})
    guard.putChild(b"media", synapse_media)
    page = Upload(b"POST", b"/_matrix/media/v3/upload", PNG, "text/html; charset=utf-8")
    photo = Upload(b"PUT", b"/_matrix/media/v3/upload/hs/AbC", PNG, None)
    download = Upload(b"GET", b"/_matrix/media/v3/download/hs/AbC", b"", "text/html")
    for request in (page, photo, download):
        assert guard.getChildWithDefault(b"media", request) is synapse_media
        assert request.content.tell() == 0
    assert declared.take(page.get_request_id()) == (True, "text/html; charset=utf-8")
    assert declared.take(photo.get_request_id()) == (True, None)
    assert declared.take(download.get_request_id()) == (False, None)
    assert len(declared) == 0


def test_declared_types_are_bounded() -> None:
    declared = DeclaredTypes(bound=3)
    for n in range(5):
        declared.note(f"POST-{n}", "image/png")
    assert len(declared) == 3
    assert declared.take("POST-0") == (False, None) and declared.take("POST-4") == (True, "image/png")


def _media(tmp_path: Path, declared: DeclaredTypes, reserved_by: str | None = None) -> MediaRules:
    api = Mock(spec=ModuleApi)

    async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
        return func(*args)

    async def db(desc: str, func: Callable[..., Any]) -> Any:
        return reserved_by

    api.defer_to_thread.side_effect = in_thread
    api.run_db_interaction.side_effect = db
    config = ModuleConfig.parse({"bot_user_id": "@bot:hs", "admin_room_alias": "#a:hs"})
    return MediaRules(config, api, declared)


async def _check(rules: MediaRules, tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "upload"
    path.write_bytes(data)
    facts = RequestFacts("POST", "/_matrix/media/v3/upload", "@nurse:hs", None, None, "POST-7")
    monkeypatch.setattr("policy.module.media.current_request", lambda: facts)
    info = SimpleNamespace(server_name=None, thumbnail=None, url_cache=False, file_id="abc")
    await rules.check_media_file_for_spam(SimpleNamespace(path=path), info)


async def test_upload_check_refuses_a_photo_declared_as_a_web_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = DeclaredTypes()
    rules = _media(tmp_path, declared)
    label = {"reason": Reason.UPLOAD_DECLARED_ACTIVE.value}
    before = REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) or 0.0
    declared.note("POST-7", "text/html")
    with pytest.raises(SynapseError) as refused:
        await _check(rules, tmp_path, PNG, monkeypatch)
    assert refused.value.code == 403
    assert refused.value.error_dict(None)["org.carebridge.reason"] == "upload-declared-active-type"
    assert REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) == before + 1
    declared.note("POST-7", "image/png")
    await _check(rules, tmp_path, PNG, monkeypatch)  # honest: passes
    await _check(rules, tmp_path, PNG, monkeypatch)  # nothing noted (taken already): content only


async def test_the_bots_html_report_is_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compliance report is an HTML page the bot uploads into an id it reserved."""
    declared = DeclaredTypes()
    declared.note("POST-7", "text/html")
    await _check(_media(tmp_path, declared, reserved_by="@bot:hs"), tmp_path, b"<html></html>", monkeypatch)
    assert len(declared) == 0
