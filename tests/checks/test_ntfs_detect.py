"""Files spread over extent records (non-resident attribute lists, as on a full file server) check clean,
and each class of damage in them, patched at an exact field of a private copy, is found: the check id,
the record (and the file's path, also for a piece in an extent record) and exit 4 — never exit 8.

The fast (vectorised) and the reference (per-record) paths must agree on every volume here."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from autoverify.checks.ntfs import check_ntfs, records
from autoverify.cli.main import main
from autoverify.readers import open_reader
from checks.ntfs_patch import Volume, index_entries, rewrite_index_block, sparse_sha256
from checks.ntfs_volumes import copy_image

LARGE, COMP, BIG, SPARSE, SMALL = "large.bin", "comp/mixed.txt", "big", "sparse.bin", "found.000/file0000.chk"
OTHER = "found.000/file0001.chk"


def pieces(vol: Volume, rn: int, atype: int, name: str = "") -> list[tuple[int, records.Attr]]:
    """(record, attribute) of every piece of a stream, through the file's attribute list, by lowest VCN."""
    al = vol.attr(rn, 0x20)
    data = al.value if al.resident else b"".join(vol.read(vol.cluster_offset(lcn), n * vol.geo.cluster_size)
                                                 for _v, lcn, n in al.runs)[:al.size]
    entries, err = records.attribute_list(data)
    assert err is None
    out = []
    for e in entries:
        if e.type == atype and e.name == name:
            out.append((e.record, vol.attr(e.record, atype, name) if e.record != rn else
                        next(a for a in vol.record(rn)[1] if a.type == atype and a.name == name)))
    return sorted(out, key=lambda p: p[1].lowest_vcn)


def first_pair(vol: Volume, rn: int, a: records.Attr) -> tuple[int, int, int]:
    """(offset in the record of the first mapping pair, length bytes, offset bytes)."""
    mp = a.offset + struct.unpack_from("<H", vol.read(vol.record_offset(rn) + a.offset + 0x20, 2))[0]
    head = vol.read(vol.record_offset(rn) + mp, 1)[0]
    return mp, head & 0x0F, head >> 4


def set_field(vol: Volume, rn: int, a: records.Attr, rel: int, value: int, fmt: str = "<q") -> None:
    vol.patch_record(rn, a.offset + rel, struct.pack(fmt, value))


# --- patches: each returns the record the finding must name --------------------------------------

def init_beyond_data(vol):  # non-resident header +0x38 initialized size
    rn = vol.lookup(LARGE)
    a = pieces(vol, rn, 0x80)[0][1]
    set_field(vol, rn, a, 0x38, a.size + 1)
    return rn


def data_beyond_alloc(vol):  # +0x30 data size
    rn = vol.lookup(LARGE)
    a = pieces(vol, rn, 0x80)[0][1]
    set_field(vol, rn, a, 0x30, a.alloc + vol.geo.cluster_size)
    return rn


def alloc_not_cluster_multiple(vol):  # +0x28 allocated size, a file without attribute list
    rn = vol.lookup(SMALL)
    a = vol.attr(rn, 0x80, "")
    set_field(vol, rn, a, 0x28, a.alloc + 512)
    return rn


def alloc_not_mapped(vol):  # +0x28 allocated size one cluster more than all pieces map
    rn = vol.lookup(LARGE)
    a = pieces(vol, rn, 0x80)[0][1]
    set_field(vol, rn, a, 0x28, a.alloc + vol.geo.cluster_size)
    return rn


def mft_alloc_not_mapped(vol):  # record 0 ($MFT) $DATA +0x28
    a = vol.attr(0, 0x80, "")
    set_field(vol, 0, a, 0x28, a.alloc + vol.geo.cluster_size)
    return 0


def lcn_past_end(vol):  # first mapping pair's LCN moved to the last cluster (a 3-cluster run)
    rn = vol.lookup(SMALL)
    a = vol.attr(rn, 0x80, "")
    assert a.runs[0][2] >= 2
    mp, nlen, noff = first_pair(vol, rn, a)
    vol.patch_record(rn, mp + 1 + nlen, (vol.geo.clusters - 1).to_bytes(noff, "little", signed=True))
    return rn


def zero_length_run(vol):  # first mapping pair's length bytes of the base piece
    rn = vol.lookup(LARGE)
    a = pieces(vol, rn, 0x80)[0][1]
    mp, nlen, _noff = first_pair(vol, rn, a)
    vol.patch_record(rn, mp + 1, bytes(nlen))
    return rn


def nibbles_past_attribute(vol):  # the header byte of the only pair: 8 + 8 bytes do not fit
    rn = vol.lookup(SMALL)
    mp, _nlen, _noff = first_pair(vol, rn, vol.attr(rn, 0x80, ""))
    vol.patch_record(rn, mp, b"\x88")
    return rn


def cross_link_extent(vol):  # the extent piece's first run LCN := another file's first cluster
    rn = vol.lookup(LARGE)
    ext, a = pieces(vol, rn, 0x80)[1]
    assert ext != rn
    mp, nlen, noff = first_pair(vol, ext, a)
    other = vol.attr(vol.lookup(OTHER), 0x80, "").runs[0][1]
    vol.patch_record(ext, mp + 1 + nlen, other.to_bytes(noff, "little", signed=True))
    return ext


def free_in_bitmap_extent(vol):  # $Bitmap bit of the extent piece's first cluster cleared
    rn = vol.lookup(LARGE)
    ext, a = pieces(vol, rn, 0x80)[1]
    vol.set_bit(vol.attr(6, 0x80, ""), a.runs[0][1], False)
    return ext


def sparse_flag_cleared(vol):  # attribute header +0x0C flags: 0x8000 cleared
    rn = vol.lookup(SPARSE)
    a = vol.attr(rn, 0x80, "")
    assert a.flags & 0x8000
    set_field(vol, rn, a, 0x0C, a.flags & ~0x8000, "<H")
    return rn


def _big_index(vol):
    rn = vol.lookup(BIG)
    return rn, pieces(vol, rn, 0xA0, "$I30")[0][1]


def index_seq_in_list_dir(vol):  # index entry +0x06: the file reference's sequence number
    rn, ia = _big_index(vol)

    def bump(b: bytearray) -> None:
        at = index_entries(b)[0][0] + 6
        b[at] ^= 0x10
    rewrite_index_block(vol, ia, 0, bump)
    return rn


def index_bitmap_cleared(vol):  # bit 0 of $BITMAP:$I30 (block 0 is in use)
    rn = vol.lookup(BIG)
    bm = pieces(vol, rn, 0xB0, "$I30")[0][1]
    if bm.resident:
        pytest.skip("resident index bitmap")  # the fixture guard asserts it is not
    vol.set_bit(bm, 0, False)
    return rn


def indx_signature(vol):  # index block 1: "INDX" -> "INDY"
    rn, ia = _big_index(vol)
    vol.write(_block_offset(vol, ia, 1) + 3, b"Y")
    return rn


def index_block_size(vol):  # index block 2, INDX header +0x20: the node's allocated size one block too small
    rn, ia = _big_index(vol)
    at = _block_offset(vol, ia, 2) + 0x20
    vol.write(at, struct.pack("<I", struct.unpack("<I", vol.read(at, 4))[0] - 8))
    return rn


def index_bitmap_short(vol):  # $BITMAP:$I30 header +0x30/+0x38: data and initialized size 1 byte (8 blocks)
    rn = vol.lookup(BIG)
    holder, bm = pieces(vol, rn, 0xB0, "$I30")[0]
    set_field(vol, holder, bm, 0x30, 1)
    set_field(vol, holder, bm, 0x38, 1)
    return rn


def _block_offset(vol: Volume, ia: records.Attr, block: int) -> int:
    cs, byte = vol.geo.cluster_size, block * vol.geo.index_size
    return next(lcn * cs + byte - vcn * cs for vcn, lcn, n in ia.runs if vcn * cs <= byte < (vcn + n) * cs)


def collation_swapped(vol):  # two neighbouring entries of index block 0 swapped (both stay valid)
    rn, ia = _big_index(vol)

    def swap(b: bytearray) -> None:
        ents = index_entries(b)
        (p1, l1, _n1), (p2, l2, _n2) = ents[0], ents[1]
        assert l1 == l2 and p1 + l1 == p2
        b[p1:p2 + l2] = b[p2:p2 + l2] + b[p1:p2]
    rewrite_index_block(vol, ia, 0, swap)
    return rn


def bad_namespace(vol):  # $FILE_NAME value +0x41 namespace := 4
    rn = vol.lookup(SMALL)
    a = vol.attr(rn, 0x30)
    vofs = struct.unpack_from("<H", vol.read(vol.record_offset(rn) + a.offset + 0x14, 2))[0]
    vol.patch_record(rn, a.offset + vofs + 0x41, b"\x04")
    return rn


def logfile_restart(vol):  # $LogFile byte 0: the first restart page is neither RSTR nor emptied
    vol.write(vol.cluster_offset(vol.attr(2, 0x80, "").runs[0][1]), b"RSTX")
    return 2


CASES = [
    (init_beyond_data, "ntfs.attr-size"), (data_beyond_alloc, "ntfs.attr-size"),
    (alloc_not_cluster_multiple, "ntfs.attr-size"), (alloc_not_mapped, "ntfs.attr-size"),
    (mft_alloc_not_mapped, "ntfs.attr-size"), (lcn_past_end, "ntfs.runlist"), (zero_length_run, "ntfs.runlist"),
    (nibbles_past_attribute, "ntfs.runlist"), (cross_link_extent, "ntfs.cross-link"),
    (free_in_bitmap_extent, "ntfs.bitmap"), (sparse_flag_cleared, "ntfs.sparse"),
    (index_seq_in_list_dir, "ntfs.dangling"), (index_bitmap_cleared, "ntfs.index"), (indx_signature, "ntfs.index"),
    (index_block_size, "ntfs.index"), (index_bitmap_short, "ntfs.index"),
    (collation_swapped, "ntfs.collation"), (bad_namespace, "ntfs.file-name"), (logfile_restart, "ntfs.logfile-damaged"),
]
PATHS = {LARGE: "\\large.bin", SMALL: "\\found.000\\file0000.chk"}


def both(path: Path):
    with open_reader(str(path)) as r:
        return check_ntfs(r), check_ntfs(r, fast=False)


def test_realistic_volume_is_clean(realistic_image):
    before = sparse_sha256(realistic_image)
    fast, slow = both(realistic_image)
    assert (fast.status, fast.findings) == ("clean", ())
    assert (slow.status, slow.findings) == ("clean", ())
    assert fast.mft_records > 13000
    assert sparse_sha256(realistic_image) == before


def test_realistic_volume_has_the_structures(realistic_image):
    """Guard the fixture: the streams and the index continue in extent records under non-resident lists."""
    vol = Volume(realistic_image)
    for path, atype, name in ((LARGE, 0x80, ""), (COMP, 0x80, ""), (BIG, 0xA0, "$I30")):
        rn = vol.lookup(path)
        assert not vol.attr(rn, 0x20).resident, path
        parts = pieces(vol, rn, atype, name)
        assert len(parts) > 1 and parts[1][0] != rn and parts[1][1].lowest_vcn > 0, path
    assert vol.attr(vol.lookup(COMP), 0x80, "").flags & 0x0001
    rn = vol.lookup(BIG)
    assert not any(a.type == 0x90 for a in vol.record(rn)[1])  # its $INDEX_ROOT sits in an extent record
    assert not pieces(vol, rn, 0xB0, "$I30")[0][1].resident
    assert any(lcn < 0 for _v, lcn, _n in vol.attr(vol.lookup(SPARSE), 0x80, "").runs)


@pytest.mark.parametrize(("patch", "expected"), CASES, ids=[c[0].__name__ for c in CASES])
def test_damage_is_found(realistic_image, tmp_path, capsys, patch, expected):
    vol = Volume(copy_image(realistic_image, tmp_path / "volume.img"))
    record = patch(vol)
    code = main(["chkdsk", str(vol.path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["status"]) == (4, "errors"), out["findings"]
    hits = [f for f in out["findings"] if f["check"] == expected]
    assert hits, [(f["check"], f["message"]) for f in out["findings"]]
    assert any(f["record"] == record for f in hits), hits
    assert all(f["severity"] == "error" and f["message"].endswith(".") for f in hits)
    if patch in (cross_link_extent, free_in_bitmap_extent):  # a piece in an extent record names its file
        assert any(f["path"] == PATHS[LARGE] for f in hits), hits
    fast, slow = both(vol.path)
    assert fast.findings == slow.findings
