"""Volume state: the $Volume dirty flag (V2) and the $LogFile restart area (L1).

A dirty flag means Windows itself found damage or has a check pending (chkdsk would run at
boot); an unclean log only means the volume was not cleanly unmounted when the snapshot was
taken, so it is a warning, not corruption.
"""

from __future__ import annotations

import struct

from autoverify.checks.ntfs import records

VOLUME_IS_DIRTY = 0x0001
RESTART_VOLUME_IS_CLEAN = 0x0002
LOGFILE_NO_CLIENT = 0xFFFF


def dirty(volume_information: bytes) -> bool | None:
    """The dirty bit of a $VOLUME_INFORMATION value; None when the value is too short."""
    if len(volume_information) < 12:
        return None
    return bool(struct.unpack_from("<H", volume_information, 10)[0] & VOLUME_IS_DIRTY)


def logfile_state(head: bytes) -> str | None:
    """None when the log is clean (or never used); else a sentence saying what is wrong with it.

    `head` is the start of $LogFile (128 KiB covers both restart pages at any page size).
    The first restart page that reads correctly decides; if neither does, the log is damaged.
    """
    if len(head) < 8192 or head[:4096].count(0xFF) == 4096:
        return None  # emptied (mkntfs and ntfsfix fill it with 0xFF) or too small to judge
    readable, problem = _restart_page(head, 0)
    if readable:
        return problem
    size = struct.unpack_from("<I", head, 0x10)[0]
    second = size if size in _PAGE_SIZES else 4096
    readable, problem2 = _restart_page(head, second)
    return problem2 if readable else problem


_PAGE_SIZES = (4096, 8192, 16384, 32768, 65536)


def logfile_damage(head: bytes) -> str | None:
    """A sentence when one of the two restart pages is damaged (neither a valid RSTR/CHKD page nor
    emptied to 0xFF as mkntfs and ntfs-3g leave it): Windows could not replay or reset the log."""
    if len(head) < 8192:
        return None
    size = struct.unpack_from("<I", head, 0x10)[0]
    second = size if head[:4] in (b"RSTR", b"CHKD") and size in _PAGE_SIZES else 4096
    for offset in (0, second):
        page = head[offset:offset + 4096]
        if page.count(0xFF) == len(page):
            continue
        readable, problem = _restart_page(head, offset)
        if not readable:
            return problem
    return None


def _restart_page(head: bytes, offset: int) -> tuple[bool, str | None]:
    """(readable, problem) for the restart page at `offset`; problem None means clean."""
    if head[offset:offset + 4] not in (b"RSTR", b"CHKD"):
        return False, f"the $LogFile restart page at byte {offset} has the signature " \
                      f"{bytes(head[offset:offset + 4])!r}, not RSTR"
    size = struct.unpack_from("<I", head, offset + 0x10)[0]
    if size not in _PAGE_SIZES or offset + size > len(head):
        return False, f"the $LogFile restart page at byte {offset} has an invalid page size {size}"
    buf = bytearray(head[offset:offset + size])
    err = records.apply_fixups(buf, min_ofs=0x1E)
    if err:
        return False, f"the $LogFile restart page at byte {offset}: {err}"
    ra = struct.unpack_from("<H", buf, 0x18)[0]
    if ra & 7 or ra < 0x1E or ra + 16 > size:
        return False, f"the $LogFile restart page at byte {offset} has an invalid restart area offset {ra}"
    in_use, flags = struct.unpack_from("<HH", buf, ra + 0x0C)
    if in_use != LOGFILE_NO_CLIENT and not flags & RESTART_VOLUME_IS_CLEAN:
        return True, "the $LogFile restart area says the volume was not cleanly unmounted"
    return True, None
