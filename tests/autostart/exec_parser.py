"""Split a desktop file's Exec value back into arguments, as a desktop would.

Written from the Desktop Entry Specification 1.5 ("The Exec key" and the
string escapes), independently of the code under test, so that quoting
tests check a round trip rather than the same rules twice.
"""

# The escapes of the string value type.
_UNESCAPE = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r", "s": " "}


def parse_exec(value: str) -> list[str]:
    """Split an Exec value into arguments as a desktop would, to check quoting."""
    text = unescape_string(value)
    arguments: list[str] = []
    current: list[str] = []
    started = quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if (
            quoted
            and char == "\\"
            and text[index + 1 : index + 2] in ('"', "`", "$", "\\")
        ):
            current.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
            started = True
        elif char == " " and not quoted:
            if started:
                arguments.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
        index += 1
    assert not quoted, f"unterminated quote in {value!r}"
    if started:
        arguments.append("".join(current))
    return [argument.replace("%%", "%") for argument in arguments]


def unescape_string(value: str) -> str:
    result = []
    index = 0
    while index < len(value):
        if value[index] == "\\":
            result.append(_UNESCAPE[value[index + 1]])
            index += 2
        else:
            result.append(value[index])
            index += 1
    return "".join(result)
