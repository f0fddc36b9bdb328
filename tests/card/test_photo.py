"""Finding the JPEG in the photo area."""

import base64
import io

import pytest
from PIL import Image

from trayagent.card import layout
from trayagent.card.photo import decode_photo, find_jpeg_end

from .cards import build_jpeg

AREA = layout.PHOTO.length


def _pad(jpeg: bytes, padding: bytes = b"\x00") -> bytes:
    return jpeg + padding * (AREA - len(jpeg))


def _pillow_jpeg(**options: object) -> bytes:
    image = Image.new("RGB", (60, 80), (200, 180, 160))
    for x in range(60):
        image.putpixel((x, x % 80), (x * 4, 255 - x * 4, 128))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("padding", [b"\x00", b"\x20", b"\xff"])
def test_photo_cut_after_end_marker(padding: bytes) -> None:
    jpeg = build_jpeg(4312)
    photo = decode_photo(_pad(jpeg, padding))
    assert photo.jpeg == jpeg
    assert photo.complete
    assert photo.warnings == ()


def test_photo_skips_thumbnail_end_marker() -> None:
    jpeg = build_jpeg(3000, thumbnail=True)
    assert jpeg.index(b"\xff\xd9") < len(jpeg) - 2
    assert find_jpeg_end(_pad(jpeg)) == len(jpeg)


def test_photo_ignores_end_marker_in_leftover_bytes() -> None:
    jpeg = build_jpeg(3000)
    leftover = b"\x11\x22\xff\xd9\x33" * 10
    photo = decode_photo(_pad(jpeg + leftover))
    assert photo.jpeg == jpeg


def test_photo_keeps_padding_like_bytes() -> None:
    built = build_jpeg(3000)
    jpeg = built[:-4] + b"\x20\x00\xff\xd9"
    photo = decode_photo(_pad(jpeg))
    assert photo.jpeg == jpeg


def test_photo_fills_whole_area() -> None:
    jpeg = build_jpeg(AREA)
    photo = decode_photo(jpeg)
    assert photo.jpeg == jpeg
    assert photo.complete


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"quality": 30}])
def test_photo_end_of_pillow_jpeg(options: dict) -> None:
    jpeg = _pillow_jpeg(**options)
    assert find_jpeg_end(_pad(jpeg)) == len(jpeg)


def test_photo_without_end_marker_incomplete() -> None:
    area = build_jpeg(AREA + 100)[:AREA]
    photo = decode_photo(area)
    assert not photo.complete
    assert photo.jpeg == area
    assert [warning.code for warning in photo.warnings] == ["PHOTO_INCOMPLETE"]
    assert photo.data_url is not None


@pytest.mark.parametrize(
    "area",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(AREA - 8),
        b"\xff\xd9" + bytes(AREA - 2),
        b"GIF89a" + b"\x20" * (AREA - 6),
    ],
)
def test_photo_not_jpeg_invalid(area: bytes) -> None:
    photo = decode_photo(area)
    assert photo.data_url is None
    assert not photo.complete
    assert photo.size == 0
    assert [warning.code for warning in photo.warnings] == ["PHOTO_INVALID"]


@pytest.mark.parametrize("padding", [b"\x00", b"\x20", b"\xff"])
def test_photo_empty_area_missing(padding: bytes) -> None:
    photo = decode_photo(padding * AREA)
    assert photo.data_url is None
    assert [warning.code for warning in photo.warnings] == ["PHOTO_MISSING"]


def test_photo_data_url_round_trips() -> None:
    jpeg = build_jpeg(4312)
    photo = decode_photo(_pad(jpeg))
    prefix = "data:image/jpeg;base64,"
    assert photo.data_url is not None
    assert photo.data_url.startswith(prefix)
    assert base64.b64decode(photo.data_url[len(prefix) :]) == jpeg


def test_photo_json() -> None:
    photo = decode_photo(_pad(build_jpeg(4312)))
    result = photo.to_json()
    assert list(result) == ["data_url", "complete", "size", "warnings"]
    assert result["complete"] is True
    assert result["size"] == 4312
    assert result["warnings"] == []


def test_photo_repr_hides_bytes() -> None:
    photo = decode_photo(_pad(build_jpeg(4312)))
    assert "jpeg" not in repr(photo)
