"""Draw the placeholder face photos of the simulated card's test people.

Each photo is a cartoon face drawn with Pillow from a seed, so the same seed
gives the same JPEG bytes on the same Pillow build. Nothing here depicts a
real person. The code runs on whichever thread first asks for a photo; the
result is cached per seed and length.
"""

import functools
import io
import random

from PIL import Image, ImageDraw

WIDTH = 148
HEIGHT = 178
JPEG_QUALITY = 60
NOISE_WEIGHT = 0.08
"""Share of random grey noise blended into the drawing.

The noise makes the JPEG about 3 to 5 KB, the size of the photos on real
cards, where a flat drawing would compress to under 2 KB.
"""

_JPEG_SOI = b"\xff\xd8"
_JPEG_COM = b"\xff\xfe"
_COM_HEADER_LENGTH = 4


def render_photo(seed: int, length: int | None = None) -> bytes:
    """Return the JPEG photo for ``seed``.

    :param length: exact size in bytes; the JPEG is padded to it with a
        comment segment. ``None`` keeps the encoder's size.
    :raises ValueError: ``length`` is smaller than the encoded JPEG.
    """
    return _render_photo(seed, length)


@functools.cache
def _render_photo(seed: int, length: int | None) -> bytes:
    jpeg = _encode(_draw_face(random.Random(seed)))
    if length is None:
        return jpeg
    return _pad_with_comment(jpeg, length)


def _draw_face(rng: random.Random) -> Image.Image:
    background = _colour(rng, 150, 230)
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    skin = (rng.randrange(180, 235), rng.randrange(140, 190), rng.randrange(110, 160))
    shirt = _colour(rng, 20, 90)
    hair = _colour(rng, 10, 50)

    draw.pieslice(_box(0.10, 0.72, 0.90, 1.30), 180, 360, fill=shirt)
    draw.ellipse(_box(0.25, 0.15, 0.75, 0.72), fill=skin, outline=(60, 40, 30))
    draw.chord(_box(0.23, 0.10, 0.77, 0.45), 180, 360, fill=hair)
    for eye_x in (0.38, 0.62):
        draw.ellipse(_box(eye_x - 0.035, 0.38, eye_x + 0.035, 0.42), fill="white")
        draw.ellipse(_box(eye_x - 0.014, 0.39, eye_x + 0.014, 0.41), fill="black")
    nose = [(0.50, 0.43), (0.47, 0.52), (0.52, 0.52)]
    draw.line([(x * WIDTH, y * HEIGHT) for x, y in nose], fill=(120, 80, 60), width=2)
    draw.arc(_box(0.40, 0.52, 0.60, 0.62), 20, 160, fill=(150, 50, 50), width=2)

    noise = Image.frombytes("L", (WIDTH, HEIGHT), rng.randbytes(WIDTH * HEIGHT))
    return Image.blend(image, noise.convert("RGB"), NOISE_WEIGHT)


def _colour(rng: random.Random, low: int, high: int) -> tuple[int, int, int]:
    red, green, blue = (rng.randrange(low, high) for _ in range(3))
    return red, green, blue


def _box(left: float, top: float, right: float, bottom: float) -> list[float]:
    return [left * WIDTH, top * HEIGHT, right * WIDTH, bottom * HEIGHT]


def _encode(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()


def _pad_with_comment(jpeg: bytes, length: int) -> bytes:
    """Insert a JPEG comment segment (COM) after SOI so the file is ``length`` bytes."""
    padding = length - len(jpeg) - _COM_HEADER_LENGTH
    if padding < 0:
        raise ValueError(f"Photo of {len(jpeg)} bytes does not fit in {length} bytes")
    segment = _JPEG_COM + (padding + 2).to_bytes(2, "big") + b"\x20" * padding
    return _JPEG_SOI + segment + jpeg[len(_JPEG_SOI) :]
