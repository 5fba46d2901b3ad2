"""Benchmark: judging uploads over the whole file (policy/file_content.py).

For each kind of file at the size limit (50 MiB by default) it times the whole-file
judgement next to a baseline measured in the same run: reading the same bytes' SHA-256,
the least any whole-file check must do. The ratio (judgement / SHA-256) is printed.

    .venv/bin/python bench/file_scan.py            # 50 MiB
    .venv/bin/python bench/file_scan.py --mib 10
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.file_content import inspect_content


def _best(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _samples(size: int) -> dict[str, bytes]:
    line = b"Handover: bed 4 stable, obs at 14:00, bloods sent.\n"
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/image1.jpeg", b"\xff\xd8\xff\xe0" + os.urandom(size - 4096))
    return {
        "text / CSV": line * (size // len(line)),
        "photo (JPEG)": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size),
        "Word (.docx, one big image)": docx.getvalue(),
        "PDF": b"%PDF-1.7\n" + os.urandom(size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'file':<30} {'MiB':>5} {'judge s':>9} {'sha256 s':>9} {'ratio':>7}  verdict")
    for name, data in _samples(args.mib * 1024 * 1024).items():
        judge = _best(lambda data=data: inspect_content(data), args.runs)
        base = _best(lambda data=data: hashlib.sha256(data).digest(), args.runs)
        verdict = inspect_content(data)
        print(
            f"{name:<30} {len(data) / 2**20:>5.0f} {judge:>9.3f} {base:>9.3f} {judge / base:>7.2f}  "
            f"{verdict.mime}{' ACTIVE ' + verdict.active if verdict.active else ''}"
        )


if __name__ == "__main__":
    main()
