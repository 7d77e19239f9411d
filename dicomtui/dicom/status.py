"""DIMSE status codes in words (PS3.7 Annex C), shared by every service."""

from __future__ import annotations

_GENERAL: dict[int, str] = {
    0x0000: "Success",
    0x0105: "No such attribute",
    0x0106: "Invalid attribute value",
    0x0107: "Attribute list error",
    0x0110: "Processing failure",
    0x0111: "Duplicate SOP Instance",
    0x0112: "No such SOP Instance",
    0x0116: "Attribute value out of range",
    0x0117: "Invalid object instance",
    0x0118: "No such SOP Class",
    0x0119: "Class-instance conflict",
    0x0120: "Missing attribute",
    0x0122: "SOP Class not supported",
    0x0124: "Not authorised",
    0x0210: "Duplicate invocation",
    0x0211: "Unrecognised operation",
    0x0212: "Mistyped argument",
    0x0213: "Resource limitation",
    0xFE00: "Cancelled",
    0xFF00: "Pending",
    0xFF01: "Pending (optional keys not supported)",
}


def describe_status(code: int) -> str:
    """'0xA700 Out of resources (Failure)'-style text for any status code."""
    name = _GENERAL.get(code)
    from pynetdicom.status import code_to_category  # only when a status needs words

    category = code_to_category(code)
    if name is None:
        if 0xA700 <= code <= 0xA7FF:
            name = "Out of resources"
        elif 0xA900 <= code <= 0xA9FF:
            name = "Data set does not match SOP Class"
        elif 0xC000 <= code <= 0xCFFF:
            name = "Cannot understand"
        else:
            name = category
    return f"0x{code:04X} {name}" + (f" ({category})" if category not in (name, "Success") else "")
