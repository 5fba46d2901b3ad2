"""Files that are two things at once: images and PDFs judged by walking their structure.

45 CFR 164.308(a)(5)(ii)(B) protection from malicious software. A photo or PDF can carry
a web page or a script where its viewer does not look but a browser or another tool does:
HTML in a PNG text chunk or a JPEG comment, a GIF whose header opens a JavaScript comment
(a GIF/JS polyglot, runnable by a <script src> pointing at it), data after the end of
the image or document (an HTML page, a zip), a PDF with JavaScript or launch actions.
Each walker reads only the structure (chunk, segment and block headers), so a 50 MB photo
costs milliseconds; it returns the case name (docs/admin/file-rules.md) or None.

Pure: bytes in, a case name out.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

# Searched in lower-cased bytes; each pattern starts with one of few characters, so the
# regex engine skips ahead quickly (a 50 MB text file takes about a second). Namespaced
# XHTML (`<x:script xmlns:x="http://www.w3.org/1999/xhtml">`) is markup too.
MARKUP = re.compile(
    rb"<\s*(?:[a-z][a-z0-9._-]*:)?(?:!doctype\s+html|html|head|body|script|iframe|frame|frameset|svg|object|"
    rb"embed|applet|meta|form|style|base|link|math|xsl:stylesheet)\b|<\?xml-stylesheet|javascript:|"
    rb"www\.w3\.org/1999/xhtml|www\.w3\.org/2000/svg"
)
PADDING = b"\x00 \t\r\n"
MAX_INFLATE = 64 * 1024 * 1024
PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")
PNG_PIXELS = (b"IDAT", b"fdAT")
PNG_END = b"IEND"

DATA_AFTER_IMAGE = "data-after-the-image"
MARKUP_IN_IMAGE = "markup-in-image-metadata"
SCRIPT_POLYGLOT = "image-is-also-a-script"
DATA_AFTER_DOCUMENT = "data-after-the-document"
PDF_ACTIVE = "pdf-javascript-or-launch"
MARKUP_IN_DOCUMENT = "markup-in-document"


def has_markup(data: bytes) -> bool:
    """HTML, XHTML (also namespaced, `<x:script>`), SVG or a `javascript:` link in `data`."""
    lowered = data.lower()
    return (b"<" in lowered or b"javascript:" in lowered or b"www.w3.org" in lowered) and bool(
        MARKUP.search(lowered)
    )


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, MAX_INFLATE)
    except zlib.error:
        return b""


# --- PNG -------------------------------------------------------------------------------
def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """(type, body, offset after the chunk) for each whole chunk after the signature; a
    chunk cut short comes as (b"", the rest of the file, its offset)."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        yield kind, data[pos + 8 : pos + 8 + length], end
        pos = end
    yield b"", data[pos:], pos


def _png_text(kind: bytes, body: bytes) -> bytes:
    """The text a text chunk holds, decompressed (the keyword too)."""
    keyword, _, rest = body.partition(b"\x00")
    if kind == b"zTXt":
        return keyword + b" " + _inflate(rest[1:])
    if kind == b"iTXt" and len(rest) >= 2:
        compressed, text = rest[0], rest[2:]
        text = text.split(b"\x00", 2)[-1]  # after the language tag and translated keyword
        return keyword + b" " + (_inflate(text) if compressed else text)
    return body


def png_problem(data: bytes) -> str | None:
    """Markup in any chunk but the pixels (text chunks decompressed), or data after IEND.
    A file cut short (or with a chunk claiming more than there is) has its rest searched
    for markup too."""
    for kind, body, end in _png_chunks(data):
        if kind in PNG_PIXELS:
            continue
        if has_markup(_png_text(kind, body) if kind in PNG_TEXT else body):
            return MARKUP_IN_IMAGE
        if kind == PNG_END:
            return DATA_AFTER_IMAGE if data[end:].strip(PADDING) else None
    last = data.rfind(b"IEND\xaeB`\x82")
    return DATA_AFTER_IMAGE if last != -1 and data[last + 8 :].strip(PADDING) else None


# --- JPEG ------------------------------------------------------------------------------
def _jpeg_end(data: bytes, start: int) -> tuple[int | None, str | None]:
    """(offset after EOI, problem) for the JPEG starting at `start`. A picture cut short (a
    photo not fully copied, or a marker missing where one must be) gives no end; the bytes
    from where it stopped making sense are searched for markup instead."""

    def cut_short(at: int) -> tuple[None, str | None]:
        return None, (MARKUP_IN_IMAGE if has_markup(data[at:]) else None)

    pos = start + 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return cut_short(pos)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, None
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        if (marker == 0xFE or 0xE0 <= marker <= 0xEF) and has_markup(segment):
            return None, MARKUP_IN_IMAGE
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data up to the next marker that is not stuffing or RST
            scan = pos
            while True:
                pos = data.find(b"\xff", pos)
                if pos == -1 or pos + 1 >= len(data):
                    return cut_short(scan)
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break
    return cut_short(min(pos, len(data)))


def jpeg_problem(data: bytes) -> str | None:
    """Markup in a comment or application segment, or data after the end of the picture.
    Cameras' extra pictures after it (Multi-Picture Format: previews, depth maps) are whole
    JPEGs and pass; anything else there (a page, a zip, a video) does not."""
    start = 0
    for _ in range(16):
        end, problem = _jpeg_end(data, start)
        if problem is not None:
            return problem
        if end is None:
            return DATA_AFTER_IMAGE if start else None  # a picture after the picture must be whole
        rest = data[end:]
        if not rest.strip(PADDING + b"\xff"):
            return None
        offset = len(rest) - len(rest.lstrip(PADDING))
        if not rest[offset:].startswith(b"\xff\xd8\xff"):
            return DATA_AFTER_IMAGE
        start = end + offset
    return DATA_AFTER_IMAGE


# --- GIF -------------------------------------------------------------------------------
def _gif_sub_blocks(data: bytes, pos: int) -> tuple[bytes, int]:
    """The joined data sub-blocks from `pos`, and the offset after their terminator."""
    parts: list[bytes] = []
    while pos < len(data):
        size = data[pos]
        pos += 1
        if size == 0:
            return b"".join(parts), pos
        parts.append(data[pos : pos + size])
        pos += size
    return b"".join(parts), len(data)


def gif_problem(data: bytes) -> str | None:
    """A header that opens a JavaScript comment or line (`GIF89a/*`), markup or a closing
    `*/` in a comment, text or application block, or data after the trailer."""
    if data[6:8] in (b"/*", b"//"):
        return SCRIPT_POLYGLOT
    pos = 13
    if len(data) > 10 and data[10] & 0x80:
        pos += 3 * (2 ** ((data[10] & 0x07) + 1))
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:
            return DATA_AFTER_IMAGE if data[pos + 1 :].strip(PADDING) else None
        if block == 0x21 and pos + 1 < len(data):
            label = data[pos + 1]
            payload, pos = _gif_sub_blocks(data, pos + 2)
            if label in (0xFE, 0x01, 0xFF) and (has_markup(payload) or b"*/" in payload):
                return SCRIPT_POLYGLOT if b"*/" in payload else MARKUP_IN_IMAGE
            continue
        if block == 0x2C and pos + 10 <= len(data):
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:
                pos += 3 * (2 ** ((flags & 0x07) + 1))
            _, pos = _gif_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            continue
        break  # damaged from here: what is left is searched
    return MARKUP_IN_IMAGE if has_markup(data[pos:]) else None


# --- PDF -------------------------------------------------------------------------------
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_HEX_ESCAPE = re.compile(rb"#([0-9a-fA-F]{2})")
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
ACTIVE_PDF_NAMES = frozenset({b"JavaScript", b"JS", b"Launch"})


def _names(text: bytes) -> set[bytes]:
    """Every PDF name in `text`, with #xx escapes decoded (`/J#61vaScript` is /JavaScript)."""
    return {_HEX_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), m[1]) for m in _NAME.finditer(text)}


def _pdf_parts(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(everything outside stream bodies, [(dictionary text before a stream, its body)])."""
    outside: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    pos = 0
    while (found := _STREAM.search(data, pos)) is not None:
        end = data.find(b"endstream", found.end())
        if end == -1:
            break
        head = data[pos : found.start()]
        outside.append(head)
        streams.append((head[head.rfind(b"obj") + 3 :], data[found.end() : end]))
        pos = end + len(b"endstream")
    outside.append(data[pos:])
    return b"".join(outside), streams


def pdf_problem(data: bytes) -> str | None:
    """JavaScript or launch actions (also inside compressed object streams), markup outside
    the streams, or data after the last %%EOF (a page or a zip appended to a PDF)."""
    eof = data.rfind(b"%%EOF")
    if eof != -1 and data[eof + 5 :].strip(PADDING):
        return DATA_AFTER_DOCUMENT
    outside, streams = _pdf_parts(data)
    if _names(outside) & ACTIVE_PDF_NAMES:
        return PDF_ACTIVE
    budget = MAX_INFLATE
    for dictionary, body in streams:
        if b"ObjStm" not in _names(dictionary) or budget <= 0:
            continue
        inflated = _inflate(body)
        budget -= len(inflated)
        if _names(inflated) & ACTIVE_PDF_NAMES:
            return PDF_ACTIVE
    return MARKUP_IN_DOCUMENT if has_markup(outside) else None
