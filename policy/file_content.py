"""What a file really is, judged from its whole content: the type, and any active content.

45 CFR 164.308(a)(5)(ii)(B) protection from malicious software. The client's file name
and Content-Type are never consulted (anyone can set them), and the check is not limited
to the first bytes: a PNG with a zip appended, or text with a zip after 8 KiB, is still a
zip to the tools that open it. Active content is what a colleague's device could run or
render: web pages (HTML, SVG, XHTML), scripts (shell, PowerShell, batch, VBScript),
executables, archives that cannot be inspected or that hold any of those, Office files
with macros or embedded packages, and files that are two things at once (polyglots).

Pure: takes the bytes, returns a `ContentVerdict`; docs/admin/file-rules.md lists every case.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import filetype

from policy.file_structure import MARKUP, gif_problem, jpeg_problem, pdf_problem, png_problem

# Formats whose structure is walked for a second thing inside (policy/file_structure.py).
STRUCTURE_CHECKS = {
    "image/png": png_problem,
    "image/apng": png_problem,
    "image/jpeg": jpeg_problem,
    "image/gif": gif_problem,
    "application/pdf": pdf_problem,
}

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
ZIP = "application/zip"
OPENDOCUMENT = "application/vnd.oasis.opendocument."
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06")
SIGNATURE_BYTES = 8192
ENTRY_HEAD_BYTES = 4096
MAX_ZIP_ENTRIES = 5000
MAX_NESTED_BYTES = 64 * 1024 * 1024

EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
        "application/wasm",
        "application/x-deb",
        "application/x-rpm",
    }
)
# Archives whose content Carebridge cannot inspect: refused whatever they hold.
OPAQUE_ARCHIVES = frozenset(
    {
        "application/x-tar",
        "application/x-rar-compressed",
        "application/gzip",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/vnd.ms-cab-compressed",
        "application/x-xz",
        "application/x-unix-archive",
        "application/x-compress",
        "application/x-lzop",
        "application/x-lzip",
        "application/x-lz4",
        "application/zstd",
        "application/x-brotli",
    }
)
# Names inside a zip or Office file that a desktop runs or renders when opened.
_ACTIVE_NAMES = (
    "exe dll scr com pif cpl msi msp msc bat cmd ps1 psm1 psd1 vbs vbe js jse mjs wsf wsh "
    "hta html htm xhtml shtml svg svgz sh bash zsh ksh csh command app jar apk dmg iso img "
    "lnk url reg inf py pyw pl rb php elf so dylib ocx sys drv"
)
ACTIVE_EXTENSIONS = frozenset(_ACTIVE_NAMES.split(" "))
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
OOXML_MAIN_PARTS = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE_MACRO_MARKERS = ("_VBA_PROJECT".encode("utf-16-le"), "Ole10Native".encode("utf-16-le"))
SCRIPT_START = re.compile(rb"\A\s*(?:#!|@echo\s+off)")
PIPE_TO_SHELL = re.compile(rb"\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b")
SCRIPT_WORDS = (
    b"invoke-expression",
    b"invoke-webrequest",
    b"invoke-restmethod",
    b"start-process",
    b"set-executionpolicy",
    b"net.webclient",
    b"downloadstring",
    b"downloadfile",
    b"frombase64string",
    b"-encodedcommand",
    b"add-type",
    b"wscript.shell",
    b"activexobject",
)
SCRIPT_RARE = re.compile(rb"\biex\s*[(\$]|\|\s*iex\b|createobject\s*\(|powershell(?:\.exe)?\s+-")
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass(frozen=True)
class ContentVerdict:
    """The type a file's content shows, and why it is active content (None if it is not)."""

    mime: str
    active: str | None = None


def _active(mime: str, why: str) -> ContentVerdict:
    return ContentVerdict(mime, why)


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _entry_is_active(name: str, head: bytes) -> bool:
    if _extension(name) in ACTIVE_EXTENSIONS or head.startswith(EXECUTABLE_MAGIC):
        return True
    kind = filetype.guess(head) if head else None
    if kind is not None and (kind.mime in EXECUTABLE_TYPES or kind.mime in OPAQUE_ARCHIVES):
        return True
    return bool(MARKUP.search(head.lower())) and not name.lower().endswith((".xml", ".rels"))


def _inspect_zip(data: bytes, depth: int = 0, budget: list[int] | None = None) -> ContentVerdict:
    """A zip, or an Office / OpenDocument file (which are zips): every entry is checked,
    zips inside it too (three levels and 64 MiB unpacked in all; more is refused)."""
    budget = [MAX_NESTED_BYTES] if budget is None else budget
    if not data.startswith(b"PK\x03\x04"):
        return _active(OCTET_STREAM, "zip-appended-to-another-file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                return _active(ZIP, "archive-too-many-entries")
            names = [info.filename for info in infos]
            lowered = {n.lower() for n in names}
            for info in infos:
                if info.is_dir():
                    continue
                with archive.open(info) as entry:
                    head = entry.read(ENTRY_HEAD_BYTES)
                name = info.filename.lower()
                if (
                    name.endswith("vbaproject.bin")
                    or name.startswith(("basic/", "scripts/"))
                    or ("/activex/" in f"/{name}")
                ):
                    return _active(ZIP, "office-macros")
                if "embeddings/" in name and head.startswith(b"\xd0\xcf\x11\xe0"):
                    return _active(ZIP, "office-embedded-package")
                if _entry_is_active(info.filename, head):
                    return _active(ZIP, "archive-holds-active-content")
                if head.startswith(b"PK\x03\x04"):
                    budget[0] -= info.file_size
                    small = depth < 2 and budget[0] >= 0
                    inner = _inspect_zip(archive.read(info), depth + 1, budget) if small else None
                    if inner is None or inner.active:
                        return _active(ZIP, "archive-holds-active-content")
            if "[content_types].xml" in lowered:
                return _ooxml(archive, lowered)
            if names and names[0] == "mimetype":
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if declared.startswith(OPENDOCUMENT):
                    return ContentVerdict(declared)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
        return _active(ZIP, "damaged-or-encrypted-archive")
    return ContentVerdict(ZIP)


def _ooxml(archive: zipfile.ZipFile, lowered: set[str]) -> ContentVerdict:
    """An Office Open XML file must have its main part and declare no macro content."""
    content_types = archive.read("[Content_Types].xml").lower()
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        return _active(ZIP, "office-macros")
    for part, mime in OOXML_MAIN_PARTS.items():
        if part in lowered:
            return ContentVerdict(mime)
    return _active(ZIP, "not-the-office-file-it-claims")


def _as_text(data: bytes) -> bytes | None:
    """The text in UTF-8 bytes when the file is text (UTF-8, UTF-16 with BOM, or 8-bit), else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return None
    if CONTROL_BYTES.search(data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8")  # Windows-1252 exports (CSV from Excel)
    return data


def looks_like_text(data: bytes) -> bool:
    """Whether `data` reads as text (UTF-8, UTF-16 with BOM, or 8-bit without control bytes)."""
    return _as_text(data) is not None


def _is_script(lowered: bytes) -> bool:
    if SCRIPT_START.match(lowered) or (b"|" in lowered and PIPE_TO_SHELL.search(lowered)):
        return True
    if any(word in lowered for word in SCRIPT_WORDS):
        return True
    rare = b"iex" in lowered or b"createobject" in lowered or b"powershell" in lowered
    return rare and SCRIPT_RARE.search(lowered) is not None


def inspect_content(data: bytes) -> ContentVerdict:
    """Judge a whole file. Order matters: zip structure first (wherever it sits), then
    signatures, then text, so no file passes as one thing while being another."""
    if data.startswith(b"PK\x03\x04") or zipfile.is_zipfile(io.BytesIO(data)):
        return _inspect_zip(data)
    if all(sig in data for sig in ZIP_SIGNATURES):
        # A whole zip (local header, central directory, end record) inside another file:
        # tools that scan for zips (7-Zip) open it wherever it sits.
        return _active(OCTET_STREAM, "zip-inside-another-file")
    kind = filetype.guess(data[:SIGNATURE_BYTES])
    if data.startswith(EXECUTABLE_MAGIC[:5]) or (kind is not None and kind.mime in EXECUTABLE_TYPES):
        return _active(kind.mime if kind else OCTET_STREAM, "executable")
    if kind is not None:
        if kind.mime in OPAQUE_ARCHIVES:
            return _active(kind.mime, "archive-cannot-be-inspected")
        walk = STRUCTURE_CHECKS.get(kind.mime)
        problem = walk(data) if walk is not None else None
        if problem is not None:
            return _active(kind.mime, problem)
        if data.startswith(b"\xd0\xcf\x11\xe0") and any(m in data for m in OLE_MACRO_MARKERS):
            return _active(kind.mime, "office-macros")
        return ContentVerdict(kind.mime)
    text = _as_text(data)
    if text is None:
        return ContentVerdict(OCTET_STREAM)
    lowered = text.lower()
    if (b"<" in lowered or b"javascript:" in lowered or b"www.w3.org" in lowered) and MARKUP.search(lowered):
        return _active("text/html", "web-page-or-svg")
    if _is_script(lowered):
        return _active(TEXT_PLAIN, "script")
    return ContentVerdict(TEXT_PLAIN)
