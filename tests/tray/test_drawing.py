"""The icon pictures: sizes, colours, and shapes that differ without colour."""

import itertools
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from trayagent.tray.drawing import STATE_COLOURS, draw_icon
from trayagent.tray.state import IconState

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY / "tools"))
import make_icons  # noqa: E402

SIZES = [16, 24, 32, 64, 128]
# A pixel belongs to the shape when it is mostly opaque.
OPAQUE = 128
# Two pictures must differ in at least this many pixels of shape at 16 px.
MIN_SHAPE_DIFFERENCE = 4


def shape_of(image: Image.Image, colour) -> Image.Image:
    """Return a two-level picture of the pixels of ``colour`` and the others.

    It keeps the layout but not the hue: pixels of the main colour are one
    level and pixels of any other visible colour are the other.
    """
    width, height = image.size
    shape = Image.new("L", image.size, 0)
    for x, y in itertools.product(range(width), range(height)):
        red, green, blue, alpha = image.getpixel((x, y))
        if alpha < OPAQUE:
            continue
        near = max(abs(red - colour[0]), abs(green - colour[1]), abs(blue - colour[2]))
        shape.putpixel((x, y), 128 if near < 40 else 255)
    return shape


@pytest.mark.parametrize("state", list(IconState))
@pytest.mark.parametrize("size", SIZES)
def test_picture_size_and_mode(state, size):
    image = draw_icon(state, size)
    assert image.size == (size, size)
    assert image.mode == "RGBA"


@pytest.mark.parametrize("state", list(IconState))
def test_picture_has_transparent_corners(state):
    image = draw_icon(state, 32)
    assert image.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("state", list(IconState))
def test_picture_shows_main_colour(state):
    image = draw_icon(state, 16).convert("RGB")
    assert STATE_COLOURS[state] in {colour for count, colour in image.getcolors(256)}


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.combinations(list(IconState), 2))
)
def test_pictures_differ_in_shape(first, second):
    first_shape = shape_of(draw_icon(first, 16), STATE_COLOURS[first])
    second_shape = shape_of(draw_icon(second, 16), STATE_COLOURS[second])
    difference = ImageChops.difference(first_shape, second_shape)
    changed = difference.width * difference.height - difference.histogram()[0]
    assert changed >= MIN_SHAPE_DIFFERENCE


def test_drawing_is_repeatable():
    first = draw_icon(IconState.READING, 32)
    second = draw_icon(IconState.READING, 32)
    assert first.tobytes() == second.tobytes()


def test_shipped_pngs_match_drawing():
    for name, state, size in make_icons.png_names():
        shipped = Image.open(REPOSITORY / "icons" / name)
        assert shipped.size == (size, size), name
        drawn = draw_icon(state, size)
        assert shipped.convert("RGBA").tobytes() == drawn.tobytes(), (
            f"icons/{name} is out of date: run python tools/make_icons.py"
        )


def test_shipped_ico_sizes():
    with Image.open(REPOSITORY / "icons" / "trayagent.ico") as ico:
        sizes = ico.info["sizes"]
    assert sizes == {(size, size) for size in make_icons.ICO_SIZES}


def test_shipped_icns_sizes():
    with Image.open(REPOSITORY / "icons" / "trayagent.icns") as icns:
        largest = max(size[0] * size[2] for size in icns.info["sizes"])
    assert largest == 1024


def test_make_icons_writes_every_file(tmp_path):
    output = tmp_path / "icons"
    written = make_icons.write_icons(output)
    names = sorted(path.name for path in written)
    expected = sorted(
        [name for name, state, size in make_icons.png_names()]
        + ["trayagent.ico", "trayagent.icns"]
    )
    assert names == expected
    assert sorted(path.name for path in output.iterdir()) == expected


@pytest.mark.parametrize("state", list(IconState))
def test_picture_on_background_opaque(state):
    image = draw_icon(state, 64, background=(0, 0, 0))
    assert image.getchannel("A").getextrema() == (255, 255)
    assert image.getpixel((0, 0)) == (0, 0, 0, 255)
