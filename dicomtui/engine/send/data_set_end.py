"""Whether a file holds its whole data set, told from element lengths alone.

A copy cut off inside its data set (a full disk, an interrupted transfer) still has a valid
file meta; streamed as it is, the peer gets a broken instance, or aborts in the middle and the
job retries it for nothing. Walking the data set's elements by their lengths finds where the
data set ends without decoding a value: a length that runs past the end of the file is a
truncated file. The walk reads element headers only, with pread in small windows, so a large
Pixel Data value costs one seek, not a read. Sequences and encapsulated pixel data of
undefined length are walked item by item (an item of known length is skipped whole).

Only a certain truncation is reported; anything we cannot walk (a deflated data set, bytes
that are not an element header, a data set too deep or too long to walk cheaply) is left to
the peer, as before.
"""

from __future__ import annotations

import os
import struct

WINDOW = 16_384  # element headers next to each other come in one read
MAX_ELEMENTS = 200_000  # beyond this many headers the walk is no longer cheap: leave it to the peer
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN",
                        b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")


class _Truncated(Exception):
    """The file ends inside element `tag` (None: before an element's header is whole); `short`: by how many
    bytes, when its length says (None inside a sequence of undefined length: its end cannot be known)."""

    def __init__(self, tag: int | None, short: int | None = None):
        self.tag, self.short = tag, short


class _Unsure(Exception):
    pass


def truncation(fd: int, start: int, size: int, transfer_syntax: str, head: bytes = b"") -> str:
    """Why the data set from `start` to `size` in the open file `fd` cannot be complete, or "" when it can
    (or when we cannot tell). `head`: the file's first bytes, already read."""
    if transfer_syntax in DEFLATED:
        return ""
    walker = _Walker(fd, size, head, explicit=transfer_syntax != IMPLICIT_LITTLE,
                     big=transfer_syntax == EXPLICIT_BIG)
    try:
        walker.data_set(start, in_item=False)
    except _Truncated as cut:
        where = "its data set" if cut.tag is None else _name(cut.tag)
        if cut.short is None:
            return f"the file ends inside {where} (a truncated copy?): not sent"
        return (f"the file ends inside {where}, {cut.short:,} bytes short of the length the file gives "
                "(a truncated copy?): not sent")
    except _Unsure:
        return ""
    return ""


class _Walker:
    def __init__(self, fd: int, size: int, head: bytes, *, explicit: bool, big: bool):
        self.fd, self.size, self.explicit = fd, size, explicit
        self.window, self.window_at = head, 0
        order = ">" if big else "<"
        self.tag, self.u16, self.u32 = (struct.Struct(order + code) for code in ("HH", "H", "I"))
        self.elements = 0

    def at(self, position: int, count: int) -> tuple[bytes, int]:
        """The window and the offset of `position` in it, with `count` bytes there unless the file ends first."""
        offset = position - self.window_at
        if offset < 0 or offset + count > len(self.window):
            self.window, self.window_at = os.pread(self.fd, max(count, WINDOW), position), position
            offset = 0
        return self.window, offset

    def data_set(self, position: int, *, in_item: bool, explicit: bool | None = None,
                 inside: int | None = None) -> int:
        """Past the elements from `position`: to the end of the file at the top level, or to the item's
        Item Delimitation Item inside an item of undefined length. The hot loop: a few hundred thousand
        elements a second, so it works on the window in place."""
        explicit = self.explicit if explicit is None else explicit
        size, tag_struct, u16, u32 = self.size, self.tag.unpack_from, self.u16.unpack_from, self.u32.unpack_from
        previous = -1
        while True:
            if not in_item:
                if position == size:
                    return position
                if size - position < 8:
                    window, offset = self.at(position, size - position)
                    if any(window[offset:offset + size - position]):
                        raise _Truncated(None)  # the file ends inside an element's header
                    raise _Unsure  # a few zeros after the last element: padding, not ours to judge
            window, offset = self.at(position, 12)
            have = len(window) - offset
            if have < 8:
                raise _Truncated(inside)
            group, element = tag_struct(window, offset)
            tag = group << 16 | element
            self.elements += 1
            if self.elements > MAX_ELEMENTS:
                raise _Unsure
            if tag == ITEM_END and in_item:
                return position + 8
            if group == 0xFFFE or tag <= previous:
                raise _Unsure  # not the ascending elements of a data set (padding, garbage): not ours to judge
            previous = tag
            vr = b""
            if not explicit:
                length, position = u32(window, offset + 4)[0], position + 8
            else:
                vr = window[offset + 4:offset + 6]
                if vr in _SHORT_VRS:
                    length, position = u16(window, offset + 6)[0], position + 8
                elif vr in _LONG_VRS:
                    if have < 12:
                        raise _Truncated(tag)
                    length, position = u32(window, offset + 8)[0], position + 12
                else:
                    raise _Unsure
            if length == UNDEFINED:
                # UN of undefined length holds its items in Implicit VR Little Endian (PS3.5 6.2.2).
                position = self.items(position, tag, explicit=explicit and vr != b"UN")
            else:
                position += length
                if position > size:
                    raise _Truncated(tag, position - size)

    def items(self, position: int, owner: int, *, explicit: bool) -> int:
        """Past a sequence (or encapsulated Pixel Data) of undefined length: its items, then its delimiter."""
        while True:
            window, offset = self.at(position, 8)
            if len(window) - offset < 8:
                raise _Truncated(owner)
            group, element = self.tag.unpack_from(window, offset)
            tag, length = group << 16 | element, self.u32.unpack_from(window, offset + 4)[0]
            self.elements += 1
            if self.elements > MAX_ELEMENTS:
                raise _Unsure
            position += 8
            if tag == SEQUENCE_END:
                return position
            if tag != ITEM:
                raise _Unsure
            if length == UNDEFINED:
                position = self.data_set(position, in_item=True, explicit=explicit, inside=owner)
            else:
                position += length
                if position > self.size:
                    raise _Truncated(owner, position - self.size)


def _name(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag  # only for the message: a truncated file is rare

    keyword = keyword_for_tag(tag)
    number = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{keyword} {number}" if keyword else number
