"""Per-file rules that need more than one record (M4 and the rest of M2): attribute lists and
extent records, required attributes, the hard link count, multi-extent VCN coverage.
"""

from __future__ import annotations

from collections.abc import Callable

from autoverify.checks.ntfs import records, streams
from autoverify.checks.ntfs.boot import Geometry
from autoverify.checks.ntfs.scan import Rec

Report = Callable[[str, str, int | None], None]
ReadAttr = Callable[[records.Attr], bytes]
T_SI, T_AL, T_FN, T_DATA, T_IR, T_IA, T_BM = (1 << (t >> 4) for t in (0x10, 0x20, 0x30, 0x80, 0x90, 0xA0, 0xB0))


def all_attrs(rn: int, recs: dict[int, Rec], extents: dict[int, list[int]]) -> list[records.Attr]:
    """Attributes of a file: its base record's and those of its extent records."""
    out = list(recs[rn].attrs or ())
    for ext in extents.get(rn, ()):
        out += recs[ext].attrs or ()
    return out


def check_files(recs: dict[int, Rec], geo: Geometry, read_attr: ReadAttr, report: Report) -> dict[int, list[int]]:
    """Attribute lists, orphaned extents, required attributes, link counts. Returns the listed extents."""
    extents: dict[int, list[int]] = {}
    for rn, r in recs.items():
        if r.base and not r.broken:
            extents.setdefault(r.base, []).append(rn)
    listed: set[int] = set()
    for rn, r in recs.items():
        if r.base or r.broken:
            continue
        types, names = r.types, r.names
        if r.alist is not None:
            names = list(names)
            for ext in _check_list(rn, r, recs, geo, read_attr, report):
                listed.add(ext)
                types |= recs[ext].types
                names += recs[ext].names
            r.types = types  # the file's attribute types, wherever its attribute list puts them
        need = T_SI | T_FN | (T_IR if r.is_dir else T_DATA)
        if types & need != need or types & T_IA and not types & T_BM or rn < 16:  # else nothing is missing
            _required(rn, r, types, report)
        if len(names) > 1 or r.links != 1:  # one name and one link always agree
            _link_count(rn, r, names, report)
    for base, exts in extents.items():
        for ext in exts:
            if ext in listed:
                continue
            b = recs.get(base)
            why = ("whose record is not in use" if b is None else
                   "which has no attribute list" if b.alist is None else "whose attribute list does not name it")
            report("ntfs.attrlist", f"extent record {ext} belongs to base record {base} {why}", ext)
    return {base: [e for e in exts if e in listed] for base, exts in extents.items()}


def _check_list(rn: int, r: Rec, recs: dict[int, Rec], geo: Geometry, read_attr: ReadAttr,
                report: Report) -> set[int]:
    """Entries of one $ATTRIBUTE_LIST point to records that point back and hold the attribute."""
    assert r.alist is not None
    entries, err = records.attribute_list(read_attr(r.alist))
    if err:
        report("ntfs.attrlist", f"file record {rn}: $ATTRIBUTE_LIST {err}", rn)
    good: set[int] = set()
    listed_here = set()
    for e in entries:
        tname = records.ATTR_NAMES.get(e.type, hex(e.type))
        target = recs.get(e.record)
        if e.record == rn:
            holder = r
        elif target is None or target.broken:
            report("ntfs.attrlist", f"file record {rn}: $ATTRIBUTE_LIST names record {e.record} for {tname}, "
                   "but that record is not in use or is damaged", rn)
            continue
        elif target.base != rn or target.base_seq != r.seq or e.seq != target.seq:
            report("ntfs.attrlist", f"file record {rn}: $ATTRIBUTE_LIST names record {e.record} for {tname}, "
                   f"but that record's base reference is {target.base} (sequence {target.base_seq})", rn)
            continue
        else:
            holder = target
            good.add(e.record)
        if not any(a.type == e.type and a.instance == e.instance and a.name == e.name for a in holder.attrs or ()):
            report("ntfs.attrlist", f"file record {rn}: $ATTRIBUTE_LIST says record {e.record} holds {tname} "
                   f"(instance {e.instance}) but it does not", rn)
        if e.record == rn:
            listed_here.add((e.type, e.instance))
    for a in r.attrs or ():
        if a.type != 0x20 and (a.type, a.instance) not in listed_here:
            report("ntfs.attrlist", f"file record {rn}: {records.ATTR_NAMES.get(a.type, hex(a.type))} is "
                   "missing from the record's own $ATTRIBUTE_LIST", rn)
    streams.check_streams(rn, [a for x in [rn, *sorted(good)] for a in (recs[x].attrs or ())], geo.cluster_size,
                          True, report)
    return good


def _required(rn: int, r: Rec, types: int, report: Report) -> None:
    missing = []
    if not types & T_SI:
        missing.append("$STANDARD_INFORMATION")
    if not types & T_FN and rn not in range(12, 16):
        missing.append("$FILE_NAME")
    if r.is_dir and not types & T_IR:
        missing.append("$INDEX_ROOT (it is a directory)")
    if not r.is_dir and not r.flags & records.FLAG_VIEW_INDEX and not types & T_DATA:
        missing.append("$DATA (it is a file)")
    if types & T_IA and not types & T_BM:
        missing.append("$BITMAP (it has an $INDEX_ALLOCATION)")
    if rn == 0 and not types & T_BM:
        missing.append("$BITMAP ($MFT's record bitmap)")
    for m in missing:
        report("ntfs.required-attr", f"file record {rn} has no {m}", rn)


def _link_count(rn: int, r: Rec, names: list[records.FileName], report: Report) -> None:
    if not names:
        return
    links = sum(1 for n in names if n.namespace != 2)
    if r.links not in (links, len(names)):
        report("ntfs.link-count", f"file record {rn} says it has {r.links} hard link(s) but holds {links} "
               "file name(s)", rn)
