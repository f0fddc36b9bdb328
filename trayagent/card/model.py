"""The decoded card as frozen dataclasses, and their public JSON form.

Built on the reading thread and handed to other threads as they are, which
is safe because nothing in them changes. Every value that describes the
person is left out of ``repr``, so a stray log of an object shows only
warnings and flags.

The JSON shapes from the ``to_json`` methods are a public protocol: web apps
and the JSON Schema depend on every key, so keys are never renamed and every
key is present, with ``None`` where a value is missing.
"""

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

Precision = Literal["day", "month", "year"]
GenderValue = Literal["male", "female"]


@dataclass(frozen=True)
class FieldWarning:
    """A problem found while decoding one field that still let the read go on.

    ``code`` is stable and ``message`` is fixed text that never contains card
    data, so both may be shown to users and written to logs.
    """

    field: str
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object ``{"field", "code", "message"}``."""
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Name:
    """A name split from the card's ``prefix#first#middle#last`` form.

    Missing parts are empty strings. ``full`` joins the parts the way the
    language writes them: a Thai prefix directly before the first name, an
    English prefix with a space.
    """

    prefix: str = field(repr=False)
    first: str = field(repr=False)
    middle: str = field(repr=False)
    last: str = field(repr=False)
    full: str = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"prefix", "first", "middle", "last", "full"}``."""
        return {
            "prefix": self.prefix,
            "first": self.first,
            "middle": self.middle,
            "last": self.last,
            "full": self.full,
        }


@dataclass(frozen=True)
class Address:
    """An address split from the card's ``#`` separated slots.

    Each part keeps its prefix as printed on the card (``"หมู่ที่ 4"``,
    ``"ซอยสุขุมวิท 71"``, ``"ตำบลในเมือง"``). There is no prefix-free copy,
    because the JSON shape is fixed and the prefixes are whole words that a
    client can remove. A Bangkok
    address has ``"กรุงเทพมหานคร"`` as its province, with no ``จังหวัด``.
    Parts not on the card are ``None``. ``extra`` contains the slots between
    the house number and the subdistrict that carry none of the known
    prefixes (a village name, a building), in card order. ``full`` is the
    non-empty slots joined with single spaces and ``raw`` the decoded field.
    """

    house_no: str | None = field(repr=False)
    moo: str | None = field(repr=False)
    trok: str | None = field(repr=False)
    soi: str | None = field(repr=False)
    road: str | None = field(repr=False)
    extra: tuple[str, ...] = field(repr=False)
    subdistrict: str | None = field(repr=False)
    district: str | None = field(repr=False)
    province: str | None = field(repr=False)
    full: str = field(repr=False)
    raw: str = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Return the address object of the card JSON."""
        return {
            "house_no": self.house_no,
            "moo": self.moo,
            "trok": self.trok,
            "soi": self.soi,
            "road": self.road,
            "extra": list(self.extra),
            "subdistrict": self.subdistrict,
            "district": self.district,
            "province": self.province,
            "full": self.full,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class CardDate:
    """A Buddhist Era ``YYYYMMDD`` date from the card and its Gregorian form.

    ``date`` is ISO 8601 at the card's precision: ``"1977-05-15"`` (day),
    ``"1977-05"`` (month), ``"1977"`` (year), or ``None`` when the value is
    empty, invalid or a lifetime expiry. ``lifetime`` is true only for the
    expiry ``99999999`` of a card that never expires.
    """

    raw: str = field(repr=False)
    date: str | None = field(repr=False)
    precision: Precision | None = field(repr=False)
    lifetime: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return ``{"raw", "date", "precision", "lifetime"}``."""
        return {
            "raw": self.raw,
            "date": self.date,
            "precision": self.precision,
            "lifetime": self.lifetime,
        }


@dataclass(frozen=True)
class Gender:
    """The gender byte: ``1`` is male, ``2`` female, anything else ``None``."""

    raw: str = field(repr=False)
    value: GenderValue | None = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"raw", "value"}``."""
        return {"raw": self.raw, "value": self.value}


@dataclass(frozen=True)
class CardNumber:
    """The number printed under the photo: 14 digits, shown ``XXXX-XX-XXXXXXXX``.

    ``formatted`` is ``None`` when the field is not 14 digits.
    """

    raw: str = field(repr=False)
    formatted: str | None = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"raw", "formatted"}``."""
        return {"raw": self.raw, "formatted": self.formatted}


@dataclass(frozen=True)
class PersonalData:
    """The text fields of the personal applet, decoded.

    ``citizen_id_valid`` is true when the citizen ID passes its checksum.
    ``warnings`` lists what could not be decoded cleanly, in reading order.
    """

    citizen_id: str = field(repr=False)
    citizen_id_valid: bool
    name_th: Name = field(repr=False)
    name_en: Name = field(repr=False)
    birth_date: CardDate = field(repr=False)
    gender: Gender = field(repr=False)
    issuer: str = field(repr=False)
    issue_date: CardDate = field(repr=False)
    expiry_date: CardDate = field(repr=False)
    address: Address = field(repr=False)
    card_number: CardNumber = field(repr=False)
    warnings: tuple[FieldWarning, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the card JSON object that clients receive."""
        return {
            "citizen_id": self.citizen_id,
            "citizen_id_valid": self.citizen_id_valid,
            "name_th": self.name_th.to_json(),
            "name_en": self.name_en.to_json(),
            "birth_date": self.birth_date.to_json(),
            "gender": self.gender.to_json(),
            "issuer": self.issuer,
            "issue_date": self.issue_date.to_json(),
            "expiry_date": self.expiry_date.to_json(),
            "address": self.address.to_json(),
            "card_number": self.card_number.to_json(),
            "warnings": [warning.to_json() for warning in self.warnings],
        }


@dataclass(frozen=True)
class Photo:
    """The card photo as JPEG bytes.

    ``complete`` is false when no JPEG end marker was found, so ``jpeg``
    contains the whole photo area as read, or when the area contains no JPEG
    at all, so ``jpeg`` is empty. ``warnings`` then names the case
    (``PHOTO_INCOMPLETE``, ``PHOTO_INVALID`` or ``PHOTO_MISSING``).
    """

    jpeg: bytes = field(repr=False)
    complete: bool
    warnings: tuple[FieldWarning, ...] = ()

    @property
    def size(self) -> int:
        """The length of ``jpeg`` in bytes."""
        return len(self.jpeg)

    @property
    def data_url(self) -> str | None:
        """The JPEG as a ``data:image/jpeg;base64,...`` URL, ``None`` if empty."""
        if not self.jpeg:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")

    def to_json(self) -> dict[str, Any]:
        """Return ``{"data_url", "complete", "size", "warnings"}``.

        ``data_url`` is ``None`` when the photo area held no JPEG.
        """
        return {
            "data_url": self.data_url,
            "complete": self.complete,
            "size": self.size,
            "warnings": [warning.to_json() for warning in self.warnings],
        }
