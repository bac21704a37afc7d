"""Draw the web app's PNG icons from the design of ``static/icon.svg`` (no SVG renderer needed).

The icon is a speech bubble with three dots on a violet gradient. ``icon-192.png`` and
``icon-512.png`` keep the SVG's rounded square; ``icon-maskable-512.png`` and
``apple-touch-icon.png`` fill the whole square (the platform cuts its own shape: the bubble lies
well inside the maskable safe zone, a circle of 40% of the size). Drawn four times larger and
scaled down, for smooth edges. Run again after changing the design::

    .venv/bin/python scripts/draw_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parents[1] / "src/tidings/web/static/icons"
BOX = 64  # the SVG's viewBox
SUPERSAMPLE = 4
START, END = (0x63, 0x66, 0xF1), (0x8B, 0x5C, 0xF6)
DOTS = [
    ((24, 32), (0x63, 0x66, 0xF1)),
    ((32, 32), (0x7C, 0x3A, 0xED)),
    ((40, 32), (0x8B, 0x5C, 0xF6)),
]


def gradient(size: int) -> Image.Image:
    """The SVG's diagonal gradient (top left to bottom right) over a square (computed small,
    then stretched: a linear gradient stays one)."""
    small = 128
    image = Image.new("RGB", (small, small))
    pixels = image.load()
    assert pixels is not None
    for y in range(small):
        for x in range(small):
            t = (x + y) / (2 * (small - 1))
            pixels[x, y] = tuple(round(a + (b - a) * t) for a, b in zip(START, END, strict=True))
    return image.resize((size, size), Image.Resampling.BILINEAR)


def draw(size: int, *, full_bleed: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    unit = big / BOX

    def at(x: float, y: float) -> tuple[float, float]:
        return x * unit, y * unit

    background = gradient(big)
    shape = Image.new("L", (big, big), 0)
    if full_bleed:
        shape.paste(255, (0, 0, big, big))
    else:
        ImageDraw.Draw(shape).rounded_rectangle(
            (0, 0, big - 1, big - 1), radius=16 * unit, fill=255
        )
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    image.paste(background, (0, 0), shape)

    pen = ImageDraw.Draw(image)
    # The bubble: a rounded rectangle from (12, 20) to (52, 44), its tail down to (22, 51).
    pen.rounded_rectangle((*at(12, 20), *at(52, 44)), radius=6 * unit, fill="white")
    pen.polygon([at(31, 43.5), at(22, 51), at(22, 43.5)], fill="white")
    for (cx, cy), colour in DOTS:
        pen.ellipse((*at(cx - 3, cy - 3), *at(cx + 3, cy + 3)), fill=colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    outputs = {
        "icon-192.png": draw(192, full_bleed=False),
        "icon-512.png": draw(512, full_bleed=False),
        "icon-maskable-512.png": draw(512, full_bleed=True),
        "apple-touch-icon.png": draw(180, full_bleed=True).convert("RGB"),
    }
    for name, image in outputs.items():
        image.save(ICONS / name, optimize=True)
        print(ICONS / name)


if __name__ == "__main__":
    main()
