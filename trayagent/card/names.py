"""Thai and English names from the card's ``prefix#first#middle#last`` form.

Runs on whichever thread reads the card.
"""

from typing import Literal

from trayagent.card.model import FieldWarning, Name

Language = Literal["th", "en"]

NAME_PARTS = 4

_LANGUAGE_WORDS = {"th": "Thai", "en": "English"}


def parse_name(
    text: str, field: str, language: Language
) -> tuple[Name, list[FieldWarning]]:
    """Split a decoded name field into its parts and compose the full name.

    Parts are taken by position and stripped of surrounding spaces, so a
    three-part field gives prefix, first and middle name and an empty last
    name. An empty field, one with fewer than four parts or one with no first
    name gives a ``NAME_INCOMPLETE`` warning. Parts after the fourth are
    joined to the last name with spaces and give ``NAME_MALFORMED``.

    :param field: the field name used in warnings, for example ``"name_th"``.
    :param language: ``"th"`` joins the prefix directly to the first name,
        ``"en"`` puts a space between them.
    """
    parts = [part.strip() for part in text.split("#")]
    problem = _find_problem(parts)
    if len(parts) > NAME_PARTS:
        parts[NAME_PARTS - 1 :] = [_join_words(parts[NAME_PARTS - 1 :])]
    parts += [""] * (NAME_PARTS - len(parts))
    prefix, first, middle, last = parts
    if problem is None and not first:
        problem = ("NAME_INCOMPLETE", "has no first name")

    name = Name(prefix, first, middle, last, _compose(parts, language))
    if problem is None:
        return name, []
    code, description = problem
    message = f"The {_LANGUAGE_WORDS[language]} name {description}"
    return name, [FieldWarning(field, code, message)]


def _find_problem(parts: list[str]) -> tuple[str, str] | None:
    """Return the warning code and description for the field's parts, if any."""
    if not any(parts):
        return "NAME_INCOMPLETE", "is empty"
    if len(parts) < NAME_PARTS:
        return "NAME_INCOMPLETE", "has fewer parts than expected"
    if any(parts[NAME_PARTS:]):
        return "NAME_MALFORMED", "has more parts than expected"
    return None


def _compose(parts: list[str], language: Language) -> str:
    prefix, first, middle, last = parts
    if language == "th":
        return _join_words([prefix + first, middle, last])
    return _join_words([prefix, first, middle, last])


def _join_words(words: list[str]) -> str:
    return " ".join(word for word in words if word)
