"""Structures Windows volumes are full of must not be mistaken for damage: compressed and sparse files,
an attribute list of named streams, reparse points, a large directory with deletions."""

from __future__ import annotations

from autoverify.checks.ntfs import check_ntfs
from autoverify.readers import open_reader
from checks.ntfs_patch import Volume, sparse_sha256


def test_diverse_volume_is_clean(diverse_image):
    before = sparse_sha256(diverse_image)
    with open_reader(str(diverse_image)) as r:
        fast, slow = check_ntfs(r), check_ntfs(r, fast=False)
    assert (fast.status, fast.findings) == ("clean", ())
    assert (slow.status, slow.findings) == ("clean", ())
    assert sparse_sha256(diverse_image) == before


def test_diverse_volume_has_the_structures(diverse_image):
    vol = Volume(diverse_image)
    data = {p: vol.attr(vol.lookup(p), 0x80, "") for p in ("comp/text.txt", "holey.bin")}
    assert data["comp/text.txt"].flags & 0x0001 and len(data["comp/text.txt"].runs) > 10  # compressed
    assert data["holey.bin"].flags & 0x8000 and any(lcn < 0 for _v, lcn, _n in data["holey.bin"].runs)
    ads = vol.lookup("ads/file.txt")  # its $FILE_NAME moved to an extent record: the base holds an attribute list
    assert {a.type for a in vol.record(ads)[1]} >= {0x20} and 0x30 not in {a.type for a in vol.record(ads)[1]}
    _h, attrs = vol.record(vol.lookup("links/winlink"))
    assert any(a.type == 0xC0 for a in attrs)
    assert vol.attr(vol.lookup("big"), 0xA0, "$I30").size > 64 * vol.geo.index_size
