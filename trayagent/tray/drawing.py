"""The tray icon pictures, drawn with Pillow.

One picture per :class:`IconState`: an ID card seen from the front with a
glyph that differs in shape as well as colour, so staff who do not tell the
colours apart can still read it. The shapes sit on a 16-unit grid, which
gives the 16 px picture crisp edges. Every size is drawn at four times its
pixel size and reduced, which smooths diagonals and corners.

The tray imports this module when it creates the icon, on the main thread,
and ``tools/make_icons.py`` uses it to write the shipped files.
"""

from PIL import Image, ImageDraw

from trayagent.tray.state import IconState

RGB = tuple[int, int, int]

# Colours from the Okabe-Ito palette, chosen to stay apart under the common
# colour vision deficiencies.
GREY: RGB = (140, 140, 140)
GREEN: RGB = (0, 158, 115)
BLUE: RGB = (0, 114, 178)
VERMILLION: RGB = (213, 94, 0)
YELLOW: RGB = (240, 228, 66)
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)

# The main colour of each picture, the one that covers the most pixels.
STATE_COLOURS: dict[IconState, RGB] = {
    IconState.SERVICE_UNAVAILABLE: VERMILLION,
    IconState.NO_READER: GREY,
    IconState.READY: GREEN,
    IconState.CARD_PRESENT: BLUE,
    IconState.READING: BLUE,
    IconState.ERROR: VERMILLION,
}

GRID_UNITS = 16
_SUPERSAMPLING = 4
_TRANSPARENT = (0, 0, 0, 0)

# Boxes as (left, top, right, bottom) in grid units, right and bottom
# exclusive. The card is 16 by 10 units, close to the ID-1 ratio of 1.586.
_CARD = (0, 3, 16, 13)
_CARD_RADIUS = 2
_OUTLINE = 2
_CHIP = (2, 6, 6, 10)
_DASH = (5, 7, 11, 9)
_READING_DOTS = ((7, 7, 9, 9), (10, 7, 12, 9), (13, 7, 15, 9))
_EXCLAMATION_BAR = (7, 4, 9, 9)
_EXCLAMATION_DOT = (7, 10, 9, 12)
_ARROW = ((5, 6), (11, 6), (8, 10))
_SLASH = ((1, 15), (15, 1))
_SLASH_WIDTH = 2.5
_SLASH_GAP = 1.5


def draw_icon(
    state: IconState, size: int, background: RGB | None = None
) -> Image.Image:
    """Draw the picture for ``state`` as a ``size`` by ``size`` RGBA image.

    :param background: a colour to put behind the picture, which makes every
        pixel opaque; ``None`` leaves the corners transparent.
    """
    canvas = Image.new("RGBA", (size * _SUPERSAMPLING,) * 2, _TRANSPARENT)
    pen = _Pen(canvas, size * _SUPERSAMPLING / GRID_UNITS)
    _GLYPHS[state](pen)
    picture = canvas.reduce(_SUPERSAMPLING)
    if background is None:
        return picture
    backdrop = Image.new("RGBA", picture.size, (*background, 255))
    return Image.alpha_composite(backdrop, picture)


class _Pen:
    """Draws on a canvas in grid units."""

    def __init__(self, canvas: Image.Image, scale: float) -> None:
        self._draw = ImageDraw.Draw(canvas)
        self._scale = scale

    def box(self, box: tuple[float, float, float, float], colour: RGB) -> None:
        self._draw.rectangle(self._pixels(box), fill=colour)

    def card(self, colour: RGB, *, filled: bool) -> None:
        self._draw.rounded_rectangle(
            self._pixels(_CARD),
            radius=round(_CARD_RADIUS * self._scale),
            fill=colour if filled else None,
            outline=colour,
            width=round(_OUTLINE * self._scale),
        )

    def polygon(self, points: tuple[tuple[float, float], ...], colour: RGB) -> None:
        self._draw.polygon([self._point(point) for point in points], fill=colour)

    def line(
        self,
        points: tuple[tuple[float, float], ...],
        colour: RGB | tuple[int, int, int, int],
        width: float,
    ) -> None:
        self._draw.line(
            [self._point(point) for point in points],
            fill=colour,
            width=round(width * self._scale),
        )

    def _point(self, point: tuple[float, float]) -> tuple[int, int]:
        return round(point[0] * self._scale), round(point[1] * self._scale)

    def _pixels(self, box: tuple[float, float, float, float]) -> list[int]:
        # Pillow's boxes include their right and bottom pixel.
        left, top, right, bottom = (round(edge * self._scale) for edge in box)
        return [left, top, right - 1, bottom - 1]


def _draw_service_unavailable(pen: _Pen) -> None:
    pen.card(GREY, filled=False)
    pen.line(_SLASH, _TRANSPARENT, _SLASH_WIDTH + 2 * _SLASH_GAP)
    pen.line(_SLASH, VERMILLION, _SLASH_WIDTH)


def _draw_no_reader(pen: _Pen) -> None:
    pen.card(GREY, filled=False)
    pen.box(_DASH, GREY)


def _draw_ready(pen: _Pen) -> None:
    pen.card(GREEN, filled=False)
    pen.polygon(_ARROW, GREEN)


def _draw_card_present(pen: _Pen) -> None:
    pen.card(BLUE, filled=True)
    pen.box(_CHIP, YELLOW)


def _draw_reading(pen: _Pen) -> None:
    _draw_card_present(pen)
    for dot in _READING_DOTS:
        pen.box(dot, WHITE)


def _draw_error(pen: _Pen) -> None:
    pen.card(VERMILLION, filled=True)
    pen.box(_EXCLAMATION_BAR, WHITE)
    pen.box(_EXCLAMATION_DOT, WHITE)


_GLYPHS = {
    IconState.SERVICE_UNAVAILABLE: _draw_service_unavailable,
    IconState.NO_READER: _draw_no_reader,
    IconState.READY: _draw_ready,
    IconState.CARD_PRESENT: _draw_card_present,
    IconState.READING: _draw_reading,
    IconState.ERROR: _draw_error,
}
