"""Read Thai national ID cards from PC/SC readers and serve them on localhost."""

__version__ = "0.1.0"
