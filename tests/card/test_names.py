"""Names from the ``prefix#first#middle#last`` field."""

import pytest

from trayagent.card.names import parse_name

# text, language, (prefix, first, middle, last), full
COMPLETE_NAMES = {
    "thai without middle": (
        "นาย#ทดสอบ##ใจดี",
        "th",
        ("นาย", "ทดสอบ", "", "ใจดี"),
        "นายทดสอบ ใจดี",
    ),
    "thai with middle": (
        "นางสาว#มาลี#ทดลอง#ใจงาม",
        "th",
        ("นางสาว", "มาลี", "ทดลอง", "ใจงาม"),
        "นางสาวมาลี ทดลอง ใจงาม",
    ),
    "english without middle": (
        "Mr.#Test##Jaidee",
        "en",
        ("Mr.", "Test", "", "Jaidee"),
        "Mr. Test Jaidee",
    ),
    "english with middle": (
        "Miss#Malee#Todlong#Jaingam",
        "en",
        ("Miss", "Malee", "Todlong", "Jaingam"),
        "Miss Malee Todlong Jaingam",
    ),
    "spaces around parts": (
        " Mr. # Test ## Jaidee ",
        "en",
        ("Mr.", "Test", "", "Jaidee"),
        "Mr. Test Jaidee",
    ),
    "no prefix": ("#ทดสอบ##ใจดี", "th", ("", "ทดสอบ", "", "ใจดี"), "ทดสอบ ใจดี"),
    "no last name": ("Mr.#Test##", "en", ("Mr.", "Test", "", ""), "Mr. Test"),
    "empty trailing slot": (
        "Mr.#Test##Jaidee#",
        "en",
        ("Mr.", "Test", "", "Jaidee"),
        "Mr. Test Jaidee",
    ),
}


@pytest.mark.parametrize(
    ("text", "language", "parts", "full"),
    COMPLETE_NAMES.values(),
    ids=COMPLETE_NAMES.keys(),
)
def test_name_complete(text: str, language: str, parts: tuple, full: str) -> None:
    name, warnings = parse_name(text, "name", language)
    assert (name.prefix, name.first, name.middle, name.last) == parts
    assert name.full == full
    assert warnings == []


def test_full_name_has_no_double_spaces() -> None:
    name, _ = parse_name("Mr.#Test#  #Jaidee", "name_en", "en")
    assert "  " not in name.full


BROKEN_NAMES = {
    "three parts": (
        "Mr.#Test#Jaidee",
        ("Mr.", "Test", "Jaidee", ""),
        "NAME_INCOMPLETE",
    ),
    "two parts": ("Mr.#Test", ("Mr.", "Test", "", ""), "NAME_INCOMPLETE"),
    "one part": ("Test", ("Test", "", "", ""), "NAME_INCOMPLETE"),
    "empty": ("", ("", "", "", ""), "NAME_INCOMPLETE"),
    "separators only": ("###", ("", "", "", ""), "NAME_INCOMPLETE"),
    "no first name": ("Mr.###Jaidee", ("Mr.", "", "", "Jaidee"), "NAME_INCOMPLETE"),
    "five parts": (
        "Mr.#Test##Jaidee#Junior",
        ("Mr.", "Test", "", "Jaidee Junior"),
        "NAME_MALFORMED",
    ),
}


@pytest.mark.parametrize(
    ("text", "parts", "code"), BROKEN_NAMES.values(), ids=BROKEN_NAMES.keys()
)
def test_name_broken_warns(text: str, parts: tuple, code: str) -> None:
    name, warnings = parse_name(text, "name_en", "en")
    assert (name.prefix, name.first, name.middle, name.last) == parts
    assert [warning.code for warning in warnings] == [code]
    assert warnings[0].field == "name_en"


def test_name_warning_names_language() -> None:
    _, warnings = parse_name("นาย#ทดสอบ", "name_th", "th")
    assert warnings[0].message == "The Thai name has fewer parts than expected"


def test_name_warning_has_no_value() -> None:
    _, warnings = parse_name("Mr.#Test", "name_en", "en")
    assert "Test" not in warnings[0].message
