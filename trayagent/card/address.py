"""Addresses from the card's ``#`` separated slots.

Runs on whichever thread reads the card. The first slot is the house number
and the last three non-empty slots are subdistrict, district and province.
The slots between them are classified by their prefix, because cards leave
empty slots and the order of moo, trok, soi and road varies. Prefixes are
compared as whole words at the start of a slot, never cut by a character
count, because Thai vowels and tone marks make character counts unreliable.
"""

from trayagent.card.model import Address, FieldWarning

FIELD = "address"
ADMIN_SLOTS = 3

MOO_PREFIX = "หมู่ที่"
TROK_PREFIX = "ตรอก"
SOI_PREFIX = "ซอย"
ROAD_PREFIX = "ถนน"
# Bangkok uses แขวง and เขต where provinces use ตำบล and อำเภอ.
BANGKOK_SUBDISTRICT_PREFIX = "แขวง"
BANGKOK_DISTRICT_PREFIX = "เขต"
SUBDISTRICT_PREFIXES = ("ตำบล", BANGKOK_SUBDISTRICT_PREFIX)
DISTRICT_PREFIXES = ("อำเภอ", BANGKOK_DISTRICT_PREFIX)
# Bangkok's province slot is the city's name, with no จังหวัด before it.
PROVINCE_PREFIXES = ("จังหวัด", "กรุงเทพมหานคร")

Prefixes = dict[str, tuple[str, ...]]

_STREET_PREFIXES: Prefixes = {
    "moo": (MOO_PREFIX,),
    "trok": (TROK_PREFIX,),
    "soi": (SOI_PREFIX,),
    "road": (ROAD_PREFIX,),
}
_ADMIN_PREFIXES: Prefixes = {
    "subdistrict": SUBDISTRICT_PREFIXES,
    "district": DISTRICT_PREFIXES,
    "province": PROVINCE_PREFIXES,
}


def parse_address(text: str) -> tuple[Address, list[FieldWarning]]:
    """Split a decoded address field into its parts.

    A slot between the house number and the subdistrict goes to ``moo``,
    ``trok``, ``soi`` or ``road`` by its prefix, and to ``extra`` when it has
    none of them or repeats a part already found. The last three slots are
    taken by position.

    Two cases fall back to placing those last slots by their prefix: fewer
    than three slots after the street slots, which is how a cut address
    looks, and a slot with the prefix of another position, as when the
    province is missing and the district comes last. Slots without a known
    prefix then go to ``extra``, and the address gets an
    ``ADDRESS_INCOMPLETE`` warning unless it is a Bangkok address (แขวง and
    เขต) that only lacks the province slot, which is then ``None``.
    """
    slots = [slot.strip() for slot in text.split("#")]
    filled = [slot for slot in slots[1:] if slot]
    admin = _admin_slots(filled)
    street = filled[: len(filled) - len(admin)]

    parts: dict[str, str] = {}
    extra = _classify(street, _STREET_PREFIXES, parts)
    warnings = []
    if _fits_positions(admin):
        parts.update(zip(_ADMIN_PREFIXES, admin, strict=True))
    else:
        extra += _classify(admin, _ADMIN_PREFIXES, parts)
        if not _is_bangkok_without_province(parts):
            warnings.append(_incomplete_warning(text))

    address = Address(
        house_no=slots[0] or None,
        moo=parts.get("moo"),
        trok=parts.get("trok"),
        soi=parts.get("soi"),
        road=parts.get("road"),
        extra=tuple(extra),
        subdistrict=parts.get("subdistrict"),
        district=parts.get("district"),
        province=parts.get("province"),
        full=" ".join(slot for slot in slots if slot),
        raw=text,
    )
    return address, warnings


def _admin_slots(filled: list[str]) -> list[str]:
    """Return up to the last three slots, stopping at one with a street prefix."""
    admin: list[str] = []
    for slot in reversed(filled):
        if len(admin) == ADMIN_SLOTS or _kind(slot, _STREET_PREFIXES):
            break
        admin.insert(0, slot)
    return admin


def _fits_positions(admin: list[str]) -> bool:
    """Tell whether the slots are three and none has another position's prefix."""
    if len(admin) != ADMIN_SLOTS:
        return False
    kinds = [_kind(slot, _ADMIN_PREFIXES) for slot in admin]
    return all(
        kind in (None, expected)
        for kind, expected in zip(kinds, _ADMIN_PREFIXES, strict=True)
    )


def _is_bangkok_without_province(parts: dict[str, str]) -> bool:
    subdistrict = parts.get("subdistrict", "")
    district = parts.get("district", "")
    return (
        "province" not in parts
        and subdistrict.startswith(BANGKOK_SUBDISTRICT_PREFIX)
        and district.startswith(BANGKOK_DISTRICT_PREFIX)
    )


def _classify(slots: list[str], prefixes: Prefixes, parts: dict[str, str]) -> list[str]:
    """Store each slot in ``parts`` under the kind its prefix names.

    Return the slots that match no kind or whose kind is already filled.
    """
    unplaced = []
    for slot in slots:
        kind = _kind(slot, prefixes)
        if kind is None or kind in parts:
            unplaced.append(slot)
        else:
            parts[kind] = slot
    return unplaced


def _kind(slot: str, prefixes: Prefixes) -> str | None:
    for kind, words in prefixes.items():
        if slot.startswith(words):
            return kind
    return None


def _incomplete_warning(text: str) -> FieldWarning:
    if not text.replace("#", "").strip():
        return FieldWarning(FIELD, "ADDRESS_INCOMPLETE", "The address is empty")
    return FieldWarning(
        FIELD,
        "ADDRESS_INCOMPLETE",
        "The address lacks its subdistrict, district or province",
    )
