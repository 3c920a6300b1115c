"""Our MBR/GPT parser against the test images (read on the host, no appliance) and hand-made tables."""

from __future__ import annotations

import struct

from images import CSV_DISK_GUID, CSV_OFFSET, CSV_PART_GUID, SYS_DISK_GUID, SYS_PART_GUID, TWO_NTFS

from autoverify.inspection.partitions import HEAD_BYTES, parse_table


def table_of(path):
    with open(path, "rb") as fh:
        def read(n, off):
            fh.seek(off)
            return fh.read(n)
        return parse_table(read(HEAD_BYTES, 0), read)


def test_mbr_two_partitions(images):
    t = table_of(images / "two_ntfs.raw")
    assert t.kind == "msdos" and t.mbr_signature.startswith("0x") and t.disk_guid is None
    assert [(p.number, p.start, p.size) for p in t.partitions] == [
        (n, s * 512, (e - s + 1) * 512) for n, (s, e, _l) in enumerate(TWO_NTFS, 1)]


def test_gpt(images):
    t = table_of(images / "win_sys.raw")
    assert (t.kind, t.disk_guid, t.partitions[0].guid, t.partitions[0].start) == ("gpt", SYS_DISK_GUID, SYS_PART_GUID,
                                                                                 1 << 20)
    csv = table_of(images / "csv_base.raw")
    assert [(p.number, p.start, p.guid == CSV_PART_GUID) for p in csv.partitions] == [(1, 1 << 20, False),
                                                                                      (2, CSV_OFFSET, True)]
    assert csv.disk_guid == CSV_DISK_GUID


def test_ldm_and_garbage(images):
    assert [p.type for p in table_of(images / "ldm.raw").partitions] == ["0x42"]
    assert table_of(images / "garbage.img").kind == ""


def entry(boot, ptype, lba, count):
    return struct.pack("<B3sB3sII", 0x80 if boot else 0, b"\0" * 3, ptype, b"\0" * 3, lba, count)


def test_extended_partitions_are_numbered_from_5():
    disk = bytearray(512 * 1024)
    disk[446:462] = entry(True, 0x07, 63, 100)
    disk[462:478] = entry(False, 0x0F, 200, 1000)
    disk[0x1B8:0x1BC] = struct.pack("<I", 0xDEADBEEF)
    disk[510:512] = b"\x55\xaa"
    ebr1, ebr2 = 200 * 512, (200 + 300) * 512
    disk[ebr1 + 446:ebr1 + 462] = entry(False, 0x07, 2, 50)
    disk[ebr1 + 462:ebr1 + 478] = entry(False, 0x05, 300, 100)
    disk[ebr1 + 510:ebr1 + 512] = b"\x55\xaa"
    disk[ebr2 + 446:ebr2 + 462] = entry(False, 0x07, 2, 40)
    disk[ebr2 + 510:ebr2 + 512] = b"\x55\xaa"
    t = parse_table(bytes(disk[:HEAD_BYTES]), lambda n, off: bytes(disk[off:off + n]))
    assert t.mbr_signature == "0xdeadbeef"
    assert [(p.number, p.start // 512, p.size // 512, p.bootable) for p in t.partitions] == [
        (1, 63, 100, True), (5, 202, 50, False), (6, 502, 40, False)]


def test_truncated_head_is_no_table():
    assert parse_table(b"", lambda n, off: b"").kind == ""
    head = bytearray(HEAD_BYTES)
    head[510:512] = b"\x55\xaa"
    head[446:462] = entry(False, 0xEE, 1, 1000)  # protective MBR, but no GPT header
    assert parse_table(bytes(head), lambda n, off: b"").kind == "msdos"
