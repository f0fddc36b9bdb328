"""Fictional people for the simulated Thai ID card.

Every value is made up for tests: the citizen IDs pass the card's checksum
but belong to no one, and the names are ordinary Thai words, not the names
of real people. Text is stored as it appears on the card. Names are
``prefix#first#middle#last``. Dates are Buddhist-Era ``YYYYMMDD``, with
``0000`` for an unknown month and day and ``99999999`` for a lifetime card.
Addresses have eight ``#`` slots: house number, moo, trok, soi, road,
subdistrict, district, province. Laser IDs are two letters and ten digits,
and the hospitals in the NHSO data are made up too. The module is plain
data that any thread may read.
"""

from dataclasses import dataclass, field

from trayagent.simcard.photo import render_photo

LARGE_PHOTO_LENGTH = 5110
"""Size of the largest test photo: more than twenty 255-byte chunks (5100 bytes),
so only a read of the whole 5118-byte photo area returns all of it."""


@dataclass(frozen=True)
class NhsoRecord:
    """The fields of one person's NHSO applet, as the card stores them.

    Text is stored in TIS-620 and dates as Buddhist-Era ``YYYYMMDD``.
    ``hospital_changes`` is the stored byte itself, because cards store the
    count either as a binary number or as an ASCII digit.
    """

    main_right: str = field(repr=False)
    sub_right: str = field(repr=False)
    main_hospital: str = field(repr=False)
    sub_hospital: str = field(repr=False)
    paid_type: str = field(repr=False)
    issue_date: str = field(repr=False)
    expiry_date: str = field(repr=False)
    update_date: str = field(repr=False)
    hospital_changes: bytes = field(repr=False)


@dataclass(frozen=True)
class Person:
    """One fictional card holder, with the card's own text for each field.

    Only ``key`` appears in ``repr``, so a failing test does not print the
    personal fields.
    """

    key: str
    citizen_id: str = field(repr=False)
    name_th: str = field(repr=False)
    name_en: str = field(repr=False)
    birth_date: str = field(repr=False)
    gender: str = field(repr=False)
    issuer: str = field(repr=False)
    issue_date: str = field(repr=False)
    expiry_date: str = field(repr=False)
    address: str = field(repr=False)
    card_number: str = field(repr=False)
    photo_seed: int = field(repr=False)
    photo_length: int | None = field(default=None, repr=False)
    laser_id: str = field(default="", repr=False)
    """The code printed on the back of the card, such as ``JT1234567890``."""
    nhso: NhsoRecord | None = field(default=None, repr=False)
    """Health-insurance rights; ``None`` leaves the NHSO file erased (0xFF)."""

    @property
    def photo(self) -> bytes:
        """The JPEG photo, drawn from ``photo_seed`` on first use."""
        return render_photo(self.photo_seed, self.photo_length)


def citizen_id_check_digit(first_twelve: str) -> int:
    """Return the check digit that completes a 13-digit citizen ID.

    The card's rule: the sum of digit[i] * (13 - i) for i in 0..11, then
    (11 - sum % 11) % 10.
    """
    total = sum(int(digit) * (13 - i) for i, digit in enumerate(first_twelve))
    return (11 - total % 11) % 10


JAIDEE = Person(
    key="jaidee",
    citizen_id="1101700203450",
    name_th="นาย#ทดสอบ##ใจดี",
    name_en="Mr.#Test##Jaidee",
    birth_date="25300115",
    gender="1",
    issuer="สำนักงานเขตพระโขนง/กรุงเทพมหานคร",
    issue_date="25640301",
    expiry_date="25720114",
    address=("99/9###ซอยสุขุมวิท 101#ถนนสุขุมวิท#แขวงบางจาก#เขตพระโขนง#กรุงเทพมหานคร"),
    card_number="10011234567890",
    photo_seed=1,
    laser_id="JT1234567890",
)
"""Bangkok address with แขวง and เขต; no middle name; no NHSO data, so the
NHSO file is erased (0xFF)."""

RAKDEE = Person(
    key="rakdee",
    citizen_id="3509900127641",
    name_th="นางสาว#สมมติ#ตัวกลาง#รักดี",
    name_en="Miss#Sommut#Tuaklang#Rakdee",
    birth_date="25411102",
    gender="2",
    issuer="อำเภอสันทราย/เชียงใหม่",
    issue_date="25650720",
    expiry_date="25731101",
    address="45#หมู่ที่ 3####ตำบลหนองหาร#อำเภอสันทราย#จังหวัดเชียงใหม่",
    card_number="50021234567891",
    photo_seed=2,
    laser_id="ME0123456789",
    nhso=NhsoRecord(
        main_right="UCS",
        sub_right="ผู้มีสิทธิทั่วไป",
        main_hospital="โรงพยาบาลสันทรายทดสอบ",
        sub_hospital="โรงพยาบาลส่งเสริมสุขภาพตำบลหนองหารทดสอบ",
        paid_type="1",
        issue_date="25650801",
        expiry_date="25690930",
        update_date="25660115",
        hospital_changes=b"\x01",
    ),
)
"""Middle name; rural address with หมู่ที่, ตำบล, อำเภอ and จังหวัด; NHSO
rights with the code ``UCS`` and a binary change count."""

SUKJAI = Person(
    key="sukjai",
    citizen_id="5204600031287",
    name_th="นาง#ตัวอย่าง##สุขใจ",
    name_en="Mrs.#Tuayang##Sukjai",
    birth_date="25200000",
    gender="2",
    issuer="อำเภอเมืองขอนแก่น/ขอนแก่น",
    issue_date="25630510",
    expiry_date="25711231",
    address="7#หมู่ที่ 11####ตำบลในเมือง#อำเภอเมืองขอนแก่น#จังหวัดขอนแก่น",
    card_number="40031234567892",
    photo_seed=3,
    laser_id="KK2345678901",
    nhso=NhsoRecord(
        main_right="สิทธิหลักประกันสุขภาพแห่งชาติ",
        sub_right="",
        main_hospital="โรงพยาบาลขอนแก่นทดสอบ",
        sub_hospital="ศูนย์สุขภาพชุมชนในเมืองทดสอบ",
        paid_type="2",
        issue_date="25630500",
        expiry_date="25680930",
        update_date="25640000",
        hospital_changes=b"2",
    ),
)
"""Birth date known by year only; NHSO rights in Thai text, an empty sub
right, NHSO dates known by month and by year, an ASCII change count."""

MANKHONG = Person(
    key="mankhong",
    citizen_id="3401100573918",
    name_th="นาย#ทดลอง##มั่นคง",
    name_en="Mr.#Tadlong##Mankhong",
    birth_date="24850704",
    gender="1",
    issuer="อำเภอพนมทวน/กาญจนบุรี",
    issue_date="25620115",
    expiry_date="99999999",
    address=(
        "1234/567#หมู่ที่ 12#ตรอกวัดป่าเลไลยก์#ซอยประชาสามัคคีพัฒนาร่วมใจ 3"
        "#ถนนเลียบคลองชลประทานฝั่งซ้ายสายใหม่#ตำบลหนองสาหร่าย#อำเภอพนมทวน"
        "#จังหวัดกาญจนบุรี"
    ),
    card_number="71041234567893",
    photo_seed=4,
    photo_length=LARGE_PHOTO_LENGTH,
    laser_id="KB3456789012",
    nhso=NhsoRecord(
        main_right="สิทธิข้าราชการ",
        sub_right="ผู้มีสิทธิ",
        main_hospital="โรงพยาบาลพนมทวนทดสอบ",
        sub_hospital="",
        paid_type="3",
        issue_date="25620115",
        expiry_date="99999999",
        update_date="25620115",
        hospital_changes=b"\x00",
    ),
)
"""Lifetime card; an address of about 150 bytes in TIS-620, so a 100-byte
read cuts it; a photo larger than twenty 255-byte chunks. Its NHSO rights
never expire and name no sub hospital, and the hospital was never changed."""

PEOPLE: dict[str, Person] = {
    person.key: person for person in (JAIDEE, RAKDEE, SUKJAI, MANKHONG)
}
"""Every test person by ``key``; ``jaidee`` is the default."""
