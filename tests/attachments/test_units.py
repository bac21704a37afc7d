"""The pure parts: sniffing, file names, ranges."""

from __future__ import annotations

import pytest

from tests.attachments import files
from tidings.attachments.filenames import content_disposition, safe_filename
from tidings.attachments.serving import RangeNotSatisfiable, requested_range
from tidings.attachments.sniffing import FILE, GIF, JPEG, MP4, PNG, WEBM, WEBP, sniff


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (files.jpeg_with_exif(), JPEG),
        (files.image("PNG"), PNG),
        (files.animated_gif(), GIF),
        (files.image("WEBP"), WEBP),
        (files.mp4(), MP4),
        (files.webm(), WEBM),
        (files.HTML, FILE),
        (files.EXE, FILE),
        (b"", FILE),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", FILE),  # HEIF, not MP4
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", FILE),  # QuickTime
        (files.webm().replace(b"\x84webm", b"\x88matroska"), FILE),
    ],
)
def test_sniffing_goes_by_the_bytes(data: bytes, expected: object) -> None:
    assert sniff(data[:64]) == expected


@pytest.mark.parametrize(
    ("raw", "media", "expected"),
    [
        ("photo.jpg", JPEG, "photo.jpg"),
        ("photo.JPEG", JPEG, "photo.JPEG"),
        ("photo.png", JPEG, "photo.jpg"),  # a media extension that lies is replaced
        ("holiday", JPEG, "holiday.jpg"),
        ("clip.mov", MP4, "clip.mov.mp4"),
        ("../../etc/passwd", FILE, "passwd"),
        ("C:\\Users\\me\\report.pdf", FILE, "report.pdf"),
        ("invoice\u202egnp.exe", FILE, "invoicegnp.exe"),  # no bidi override
        ("tab\there\x00.txt", FILE, "tabhere.txt"),
        (".htaccess", FILE, "htaccess"),
        ("name. . ", FILE, "name"),
        ("", FILE, "file"),
        (None, PNG, "file.png"),
        ("...", WEBP, "file.webp"),
        ("Cafe\u0301.txt", FILE, "Caf\u00e9.txt"),  # NFC
    ],
)
def test_file_names_are_made_safe(raw: str | None, media: object, expected: str) -> None:
    assert safe_filename(raw, media) == expected  # type: ignore[arg-type]


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("x" * 1000 + ".tar.gz", FILE)
    assert len(name) == 180
    assert name.endswith(".gz")


def test_content_disposition_has_an_ascii_name_and_the_exact_one() -> None:
    assert content_disposition("inline", 'Grüße "x".jpg') == (
        "inline; filename=\"Gru_e _x_.jpg\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22.jpg"
    ).replace("Gru_e", "Grue")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=5-", (5, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),
        ("bytes=90-1000", (90, 100)),
        ("bytes=9-5", None),  # invalid: ignored
        ("bytes=0-1,5-6", None),  # several ranges: ignored
        ("bytes=-", None),
        ("items=0-5", None),
        ("bytes=\u0661-2", None),  # not ASCII digits
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert requested_range(header, 100) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-5", 0)]
)
def test_ranges_past_the_end(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, size)
