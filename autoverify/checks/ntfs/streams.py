"""Non-resident streams of one file, judged whole: its pieces (one per record holding a part of it,
found through the attribute list) must follow each other from VCN 0, and the sizes in the first
piece must agree with the clusters the pieces map; holes need the sparse or compressed flag.

A piece whose lowest VCN is not 0 is normal in an extent record (Windows and ntfs-3g split long
runlists that way), so nothing here runs on a record alone unless the file has no attribute list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from autoverify.checks.ntfs import records

Report = Callable[[str, str, int | None], None]
FLAG_COMPRESSED, FLAG_SPARSE = 0x0001, 0x8000
BADCLUS = 8  # $BadClus:$Bad maps the whole volume as one hole without the sparse flag


def tname(a: records.Attr) -> str:
    return records.ATTR_NAMES.get(a.type, f"type {a.type:#x}") + (f":{a.name}" if a.name else "")


def check_streams(rn: int, attrs: Iterable[records.Attr], cluster_size: int, listed: bool,
                  report: Report) -> None:
    """Every non-resident stream among `attrs` (all pieces of one file's streams)."""
    groups: dict[tuple[int, str], list[records.Attr]] = {}
    for a in attrs:
        if not a.resident:
            groups.setdefault((a.type, a.name), []).append(a)
    for parts in groups.values():
        parts.sort(key=lambda a: a.lowest_vcn)
        _check_stream(rn, parts, cluster_size, listed, report)


def _check_stream(rn: int, parts: list[records.Attr], cs: int, listed: bool, report: Report) -> None:
    first, name = parts[0], tname(parts[0])
    where = f"file record {rn}: {name}"
    if first.lowest_vcn != 0:
        if listed:
            report("ntfs.attrlist", f"{where}: the first part (VCN 0) is missing", rn)
        else:
            report("ntfs.runlist", f"{where} starts at VCN {first.lowest_vcn} but the file has no attribute "
                   "list holding its first part", rn)
        return
    nxt = 0
    for p in parts:
        if p.lowest_vcn != nxt:
            report("ntfs.attrlist", f"{where} has a gap or overlap at VCN {nxt} between its parts", rn)
            return
        nxt = p.highest_vcn + 1
    alloc, size, init = first.alloc, first.size, first.init
    if init > size:
        report("ntfs.attr-size", f"{where}: initialized size {init} is larger than the data size {size}", rn)
    if size > alloc:
        report("ntfs.attr-size", f"{where}: data size {size} is larger than the allocated size {alloc}", rn)
    if alloc % cs:
        report("ntfs.attr-size", f"{where}: allocated size {alloc} is not a multiple of the cluster size {cs}", rn)
    elif nxt * cs != alloc:
        report("ntfs.attr-size", f"{where}: allocated size is {alloc} bytes but the runlist maps {nxt} "
               f"clusters ({nxt * cs} bytes)", rn)
    if rn != BADCLUS and not first.flags & (FLAG_COMPRESSED | FLAG_SPARSE):
        hole = next((v for p in parts for v, lcn, _n in p.runs if lcn < 0), None)
        if hole is not None:
            report("ntfs.sparse", f"{where} has a hole at VCN {hole} but is neither sparse nor compressed "
                   "(its sparse flag is cleared)", rn)
