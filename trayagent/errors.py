"""The stable error codes clients receive, each with its fixed message.

Clients get these codes and messages, never the text of an exception or a
traceback; those go to the log. A message says what happened and what the
person at the desk can do, and never contains card data.
"""

from typing import Final

ERROR_MESSAGES: Final[dict[str, str]] = {
    # Card and reader
    "NOT_THAI_ID_CARD": "The card in the reader is not a Thai national ID card.",
    "CARD_UNRESPONSIVE": (
        "The card does not answer. Check that it is inserted the right way "
        "round, chip first and facing up, then insert it again."
    ),
    "CARD_REMOVED": (
        "The card was removed before it was read. Insert it again and leave "
        "it in until the data appears."
    ),
    "READ_FAILED": "The card could not be read. Remove it and insert it again.",
    "READ_TIMEOUT": "Reading the card took too long. Remove it and insert it again.",
    "PHOTO_INVALID": "The photo on the card is not a valid JPEG image.",
    "APPLET_NOT_FOUND": (
        "This card has no such data; older cards lack the laser code and the "
        "health-insurance data."
    ),
    "NO_CARD": "There is no card in the reader.",
    "CARD_READING": (
        "A card is being read; try again in a moment, or POST /api/read to "
        "wait for the read."
    ),
    "NO_READER": "No card reader is connected.",
    "UNKNOWN_READER": "There is no card reader with that name.",
    "READER_REQUIRED": (
        "More than one reader holds a card; name the reader in the request."
    ),
    # PC/SC service
    "SERVICE_UNAVAILABLE": (
        "The smart card service is not running. Connect a card reader, or "
        "start the service (pcscd on Linux, Smart Card on Windows)."
    ),
    "SERVICE_NO_ACCESS": (
        "The smart card service refused access to this user. Ask the "
        "administrator to allow smart card access."
    ),
    "MONITOR_FAILED": (
        "The card monitor hit an internal error and restarted; a card "
        "inserted just now may need to be inserted again."
    ),
    # Requests
    "FORBIDDEN_HOST": (
        "The request's Host header is not a loopback name of the agent; "
        "connect to 127.0.0.1, [::1] or localhost."
    ),
    "FORBIDDEN_ORIGIN": "This web site is not allowed to use the card reader agent.",
    "PROGRAMS_ONLY": (
        "This endpoint is for programs on this PC only; web pages cannot use "
        "it. Send the request without Origin and Sec-Fetch-Site headers."
    ),
    "ORIGIN_PENDING": (
        "This web site is waiting for approval. Ask staff to allow it in the "
        "trayagent menu of the system tray."
    ),
    "TOO_MANY_CONNECTIONS": (
        "Too many connections to the agent are open; close unused tabs and try again."
    ),
    # Client messages
    "INVALID_JSON": "The message is not valid JSON.",
    "INVALID_MESSAGE": "The message is not a JSON object with a valid 'type'.",
    "UNSUPPORTED_MEDIA_TYPE": (
        "The request body must be JSON sent with Content-Type: application/json."
    ),
    "UNKNOWN_TYPE": "The message type is not known.",
    "BINARY_FRAME": "Binary frames are not accepted; send JSON text.",
    "MESSAGE_TOO_LARGE": "The message is larger than the limit of 64 KiB.",
    "RATE_LIMITED": "Too many messages; the agent dropped some. Send fewer.",
    "NOT_FOUND": "There is no such endpoint; docs/protocol.md lists the REST API.",
    "METHOD_NOT_ALLOWED": (
        "The endpoint does not accept this HTTP method; the Allow header "
        "lists the methods it accepts."
    ),
    "INTERNAL_ERROR": "The agent hit an internal error; the log has the details.",
}

# Messages of INVALID_MESSAGE that name the field at fault, by field. The
# messages never repeat the value a client sent, which may be personal data.
# ERROR_MESSAGES["INVALID_MESSAGE"] covers a missing or invalid "type".
INVALID_FIELD_MESSAGES: Final[dict[str, str]] = {
    "body": "The message is not a JSON object.",
    "id": (
        "The 'id' is not valid: it must be a number, or a string of valid "
        "Unicode text without lone surrogates."
    ),
    "reader": (
        "The 'reader' is not valid: it must be a reader's name as a string of "
        "valid Unicode text without lone surrogates."
    ),
    "origin": (
        "The 'origin' is not valid: it must be a web origin such as "
        "https://clinic.example."
    ),
    "action": "The 'action' is not valid: it must be allow, block or forget.",
}


def error_message(code: str, field: str | None = None) -> str:
    """Return the fixed message for an error code, or a generic one.

    :param field: for ``INVALID_MESSAGE``, the field at fault, which picks
        its message from ``INVALID_FIELD_MESSAGES``.
    """
    if code == "INVALID_MESSAGE" and field in INVALID_FIELD_MESSAGES:
        return INVALID_FIELD_MESSAGES[field]
    return ERROR_MESSAGES.get(code, ERROR_MESSAGES["INTERNAL_ERROR"])
