"""Each class of corruption, injected into a private copy of the populated volume, gives its finding;
the clean volume gives none."""

from __future__ import annotations

import struct

import pytest

from autoverify.checks.ntfs import check_ntfs
from autoverify.readers import open_reader
from checks.ntfs_patch import Volume

FILE_37 = "d000/file_00001_with_a_longer_name.txt"  # 37 bytes: resident $DATA
FILE_5000 = "d000/file_00003_with_a_longer_name.txt"  # 2 clusters
FILE_20000 = "d000/file_00004_with_a_longer_name.txt"  # 5 clusters
OTHER_20000 = "d001/file_00003_with_a_longer_name.txt"


def check(vol: Volume):
    with open_reader(str(vol.path)) as r:
        return check_ntfs(r)


def first_lcn(vol: Volume, path: str) -> int:
    return next(lcn for _v, lcn, _n in vol.attr(vol.lookup(path), 0x80, "").runs if lcn >= 0)


def value_offset(vol: Volume, rn: int, atype: int, name: str | None = None) -> int:
    """Offset inside the record of a resident attribute's value."""
    a = vol.attr(rn, atype, name)
    raw = vol.read(vol.record_offset(rn) + a.offset, 24)
    return a.offset + struct.unpack_from("<H", raw, 0x14)[0]


def mapping_pairs(vol: Volume, rn: int, atype: int, name: str = "") -> tuple[int, int, int]:
    """(offset in record of the first mapping pair, length bytes, offset bytes)."""
    a = vol.attr(rn, atype, name)
    base = vol.record_offset(rn)
    mp = a.offset + struct.unpack_from("<H", vol.read(base + a.offset + 0x20, 2), 0)[0]
    head = vol.read(base + mp, 1)[0]
    return mp, head & 0x0F, head >> 4


# --- one patch per corruption class -------------------------------------------------------------

def bad_signature(vol):
    vol.patch_record(vol.lookup(FILE_37), 0, b"BAAD")


def torn_fixup(vol):
    rn = vol.lookup(FILE_37)
    old = vol.read(vol.record_offset(rn) + 510, 1)[0]
    vol.patch_record(rn, 510, bytes([old ^ 0xFF]), allow_fixup=True)


def bitmap_free(vol):
    vol.set_bit(vol.attr(6, 0x80, ""), first_lcn(vol, FILE_5000), False)


def mft_bitmap_free(vol):
    vol.set_bit(vol.attr(0, 0xB0, ""), vol.lookup(FILE_37), False)


def mirror_differs(vol):
    where = vol.cluster_offset(vol.geo.mftmirr_lcn) + 2 * vol.geo.record_size + 0x10
    vol.write(where, bytes([vol.read(where, 1)[0] ^ 0x40]))


def dirty(vol):
    rel = value_offset(vol, 3, 0x70) + 0x0A
    for base in (vol.record_offset(3), vol.cluster_offset(vol.geo.mftmirr_lcn) + 3 * vol.geo.record_size):
        vol.write(base + rel, bytes([vol.read(base + rel, 1)[0] | 1]))


def backup_boot(vol):
    vol.write(vol.geo.total_sectors * vol.geo.bytes_per_sector, bytes(512))


def primary_boot(vol):
    vol.write(0x0B, struct.pack("<H", 500))


def cross_link(vol):
    rn = vol.lookup(FILE_20000)
    mp, nlen, noff = mapping_pairs(vol, rn, 0x80)
    vol.patch_record(rn, mp + 1 + nlen, first_lcn(vol, OTHER_20000).to_bytes(noff, "little", signed=True))


def run_outside(vol):
    """Move a 2-cluster run to the volume's last cluster: its second cluster lies outside."""
    rn = vol.lookup(FILE_5000)
    mp, nlen, noff = mapping_pairs(vol, rn, 0x80)
    vol.patch_record(rn, mp + 1 + nlen, (vol.geo.clusters - 1).to_bytes(noff, "little", signed=True))


def index_block(vol):
    ia = vol.attr(vol.lookup("d000"), 0xA0, "$I30")
    vol.write(vol.cluster_offset(ia.runs[0][1]), b"\xab" * vol.geo.cluster_size)


def link_count(vol):
    vol.patch_record(vol.lookup(FILE_37), 0x12, struct.pack("<H", 7))


def attribute_length(vol):
    rn = vol.lookup(FILE_37)
    si = vol.attr(rn, 0x10)
    vol.patch_record(rn, si.offset + 4, struct.pack("<I", si.size + 24 + 3))


def required_attr(vol):
    rn = vol.lookup(FILE_37)
    vol.patch_record(rn, vol.attr(rn, 0x80, "").offset, struct.pack("<I", 0xC0))


def orphan(vol):
    rn = vol.lookup(FILE_37)
    vol.patch_record(rn, value_offset(vol, rn, 0x30), struct.pack("<Q", vol.lookup("d002") | 1 << 48))


def cycle(vol):
    d = vol.lookup("d001")
    h, _ = vol.record(d)
    vol.patch_record(d, value_offset(vol, d, 0x30), struct.pack("<Q", d | h.seq << 48))


def dangling(vol):
    """Bump the sequence number in d003's index entry for one file (a stale entry)."""
    d = vol.lookup("d003")
    ia = vol.attr(d, 0xA0, "$I30")
    name = "file_00010_with_a_longer_name.txt".encode("utf-16-le")
    for _v, lcn, n in ia.runs:
        data = vol.read(vol.cluster_offset(lcn), n * vol.geo.cluster_size)
        pos = data.find(name)
        if pos >= 0:
            seq_at = vol.cluster_offset(lcn) + pos - 0x42 - 0x10 + 6
            assert (seq_at - vol.cluster_offset(lcn)) % 512 < 510
            vol.write(seq_at, bytes([vol.read(seq_at, 1)[0] ^ 0x10]))
            return
    raise AssertionError("entry not found")


def attrlist_target(vol):
    """Point one $ATTRIBUTE_LIST entry of the 150-link file at a record that is not in use."""
    rn = vol.lookup("links/target.bin")
    al = vol.attr(rn, 0x20)
    free = vol.layout.n_records - 1
    if al.resident:
        base, data = vol.record_offset(rn) + value_offset(vol, rn, 0x20), al.value
    else:
        base = vol.cluster_offset(al.runs[0][1])
        data = vol.read(base, al.size)
    pos = 0
    while pos < len(data):
        length = struct.unpack_from("<H", data, pos + 4)[0]
        if struct.unpack_from("<Q", data, pos + 0x10)[0] & (1 << 48) - 1 != rn:
            vol.write(base + pos + 0x10, struct.pack("<Q", free | 1 << 48))
            return
        pos += length
    raise AssertionError("no entry in an extent record")


def upcase_table(vol):
    """$UpCase no longer upper-cases 'a': name lookups would go wrong."""
    lcn = vol.attr(10, 0x80, "").runs[0][1]
    vol.write(vol.cluster_offset(lcn) + 2 * ord("a"), b"a")


CASES = [
    (bad_signature, "ntfs.record-header"), (torn_fixup, "ntfs.fixup"), (bitmap_free, "ntfs.bitmap"),
    (mft_bitmap_free, "ntfs.mft-bitmap"), (mirror_differs, "ntfs.mftmirr"), (dirty, "ntfs.dirty"),
    (backup_boot, "ntfs.boot-backup"), (primary_boot, "ntfs.boot"), (cross_link, "ntfs.cross-link"),
    (run_outside, "ntfs.runlist"), (index_block, "ntfs.index"), (link_count, "ntfs.link-count"),
    (attribute_length, "ntfs.attribute"), (required_attr, "ntfs.required-attr"), (orphan, "ntfs.orphan"),
    (cycle, "ntfs.cycle"), (dangling, "ntfs.dangling"), (attrlist_target, "ntfs.attrlist"),
    (upcase_table, "ntfs.system-file"),
]


@pytest.mark.appliance
@pytest.mark.parametrize(("patch", "expected"), CASES, ids=[c[0].__name__ for c in CASES])
def test_corruption_is_found(volume_copy, patch, expected):
    vol = volume_copy()
    patch(vol)
    result = check(vol)
    assert result.status == "errors", result.findings
    hits = [f for f in result.findings if f.check == expected]
    assert hits, f"no {expected} finding in {[(f.check, f.message) for f in result.findings]}"
    assert all(f.message.endswith(".") and f.severity == "error" for f in hits)


@pytest.mark.appliance
def test_clean_volume_has_no_finding(small_image):
    with open_reader(str(small_image)) as r:
        result = check_ntfs(r)
    assert result.status == "clean"
    assert result.findings == ()
    assert result.mft_records > 3000


@pytest.mark.appliance
def test_clean_volume_has_the_structures_the_checker_must_walk(small_image):
    """Guard the fixture itself: fragmented file, attribute list, multi-block index, deleted files."""
    vol = Volume(small_image)
    frag = vol.attr(vol.lookup("frag/fragmented.bin"), 0x80, "")
    assert len([r for r in frag.runs if r[1] >= 0]) > 1, frag.runs
    _h, attrs = vol.record(vol.lookup("links/target.bin"))
    assert any(a.type == 0x20 for a in attrs)
    assert vol.attr(vol.lookup("d000"), 0xA0, "$I30").size >= 8 * vol.geo.index_size
    assert ("doomed" not in {name for _p, name in vol.names}) and vol.layout.n_records > 3100


@pytest.mark.appliance
def test_bitlocker_is_unchecked_not_corrupt(volume_copy):
    vol = volume_copy()
    vol.write(3, b"-FVE-FS-")
    result = check(vol)
    assert result.status == "unchecked"
    assert [f.message for f in result.findings] == ["encrypted (BitLocker), cannot be checked offline"]
