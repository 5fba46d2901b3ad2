"""Draw the web client's app icons (PNG, and favicon.ico) from the favicon's shapes.

A speech bubble on a dark rounded square, as in static/favicon.svg. Run it after changing
the design; the PNGs are committed (the build has no image tools):

    .venv/bin/python webclient/tools/icons.py

Needs Pillow (a dependency of matrix-synapse, so it is in the project's .venv).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "static"
BACKGROUND = (46, 47, 50, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    """The icon at `size` pixels; a maskable one fills the square and keeps the bubble
    inside the middle 80 % (the safe zone phones crop to a circle or squircle)."""
    scale = 4  # draw large, then shrink: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=BACKGROUND)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 7 // 32, fill=BACKGROUND)
    unit = big / 32 * (0.8 if maskable else 1.0)
    offset = (big - 32 * unit) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return (offset + x * unit, offset + y * unit)

    pen.rounded_rectangle((*at(7, 11), *at(25, 22)), radius=2 * unit, fill=WHITE)
    pen.polygon([at(10, 21), at(15, 21.5), at(10, 26)], fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    icons = STATIC / "icons"
    icons.mkdir(exist_ok=True)
    draw(192, maskable=False).save(icons / "icon-192.png", optimize=True)
    draw(512, maskable=False).save(icons / "icon-512.png", optimize=True)
    draw(512, maskable=True).save(icons / "maskable-512.png", optimize=True)
    draw(180, maskable=True).convert("RGB").save(icons / "apple-touch-icon.png", optimize=True)
    draw(64, maskable=False).save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])


if __name__ == "__main__":
    main()
