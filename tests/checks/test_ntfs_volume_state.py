"""$LogFile restart areas (clean, unclean, damaged, emptied) and the $Volume dirty bit, on synthesized
restart pages laid out as NTFS writes them (update sequence at 0x1E, restart area at 0x30)."""

from __future__ import annotations

import struct

import pytest

from autoverify.checks.ntfs import volume

PAGE = 4096


def restart_page(in_use_list: int, flags: int, magic: bytes = b"RSTR", usn: int = 7) -> bytes:
    page = bytearray(PAGE)
    count = PAGE // 512 + 1
    struct.pack_into("<4sHHQIIHhh", page, 0, magic, 0x1E, count, 0, PAGE, PAGE, 0x30, 1, 1)
    struct.pack_into("<QHHHH", page, 0x30, 0, 1, 0xFFFF, in_use_list, flags)
    struct.pack_into("<H", page, 0x1E, usn)
    for i in range(PAGE // 512):  # move each sector's last two bytes into the array, stamp the USN
        end = (i + 1) * 512 - 2
        page[0x20 + 2 * i:0x22 + 2 * i] = page[end:end + 2]
        struct.pack_into("<H", page, end, usn)
    return bytes(page)


@pytest.mark.parametrize(("pages", "expected"), [
    ((restart_page(0xFFFF, 0), restart_page(0xFFFF, 0)), None),
    ((restart_page(0, volume.RESTART_VOLUME_IS_CLEAN),) * 2, None),
    ((restart_page(0, 0),) * 2, "not cleanly unmounted"),
    ((b"\xff" * PAGE, b"\xff" * PAGE), None),
    ((b"XXXX" + bytes(PAGE - 4), restart_page(0, 0)), "not cleanly unmounted"),
    ((b"XXXX" + bytes(PAGE - 4), b"YYYY" + bytes(PAGE - 4)), "signature"),
])
def test_logfile_state(pages, expected):
    state = volume.logfile_state(b"".join(pages) + bytes(8 * PAGE))
    assert state is None if expected is None else expected in state


def test_torn_restart_page_is_reported():
    page = bytearray(restart_page(0xFFFF, 0))
    page[1022] ^= 0xFF
    state = volume.logfile_state(bytes(page) + bytes(page) + bytes(8 * PAGE))
    assert state is not None and "update sequence" in state


def test_dirty_bit():
    info = bytearray(12)
    assert volume.dirty(bytes(info)) is False
    info[10] = 1
    assert volume.dirty(bytes(info)) is True
    assert volume.dirty(b"") is None
