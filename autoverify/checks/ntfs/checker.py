"""check_ntfs: the chkdsk-equivalent, read-only, over a byte-range reader.

Order: boot sector -> $MFT location -> one pass over all records -> multi-record rules ->
$MFTMirr -> MFT bitmap -> cluster accounting -> indexes and name linkage -> volume state.
Bad bytes never raise: a structure that cannot be read becomes a finding; a volume that
cannot be read at all becomes status "unchecked" with one sentence saying why.
"""

from __future__ import annotations

import gc
import struct
import time
from collections import Counter

import numpy as np

from autoverify import findings
from autoverify.checks import bitlocker
from autoverify.checks.ntfs import (
    boot,
    clusters,
    files,
    indexes,
    mft,
    namespace,
    records,
    scan,
    system,
    volume,
)
from autoverify.checks.ntfs.boot import Geometry
from autoverify.models import CheckResult, Finding

MAX_PER_CHECK = 50
READ_LIMIT = 256 << 20  # never buffer more than this for one attribute


class Collector:
    """Findings as they are found; at most MAX_PER_CHECK per check id, then one summary line."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, int | None]] = []
        self.counts: Counter[str] = Counter()
        self.owners: dict[int, int] = {}  # extent record -> its base record (a finding names the file)

    def __call__(self, check: str, message: str, record: int | None = None) -> None:
        self.counts[check] += 1
        if self.counts[check] <= MAX_PER_CHECK:
            self.items.append((check, message, record))

    def findings(self, names: dict[int, list]) -> tuple[Finding, ...]:
        cache: dict[int, str | None] = {}
        out = [findings.make(c, m if c == "ntfs.bitlocker" else _sentence(m), record=r,
                             path=namespace.path_of(self.owners.get(r, r), names, cache) if r is not None else None)
               for c, m, r in self.items]
        for c, n in self.counts.items():
            if n > MAX_PER_CHECK:
                out.append(findings.make(c, f"{n - MAX_PER_CHECK} more {c} findings are not listed."))
        return tuple(out)


def _sentence(m: str) -> str:
    m = m[0].upper() + m[1:] if m else m
    return m if m.endswith(".") else m + "."


def check_ntfs(reader, fast: bool = True) -> CheckResult:
    """Check the NTFS volume the reader covers; never raises for bad bytes.

    `fast=False` walks every record in Python (the reference the vectorised triage is tested against)."""
    t0 = time.monotonic()
    found = Collector()
    names: dict[int, list] = {}
    stats: dict = {}
    gc_was_on = gc.isenabled()
    gc.disable()  # hundreds of thousands of small acyclic objects: the cycle collector only costs time
    try:
        status = _check(reader, found, names, stats, fast)
    except Exception as exc:  # noqa: BLE001 - bad bytes must become a verdict, never a traceback
        if isinstance(exc, OSError) or type(exc).__module__ == "nbd":  # the reader failed, not the parser
            found.items.clear()
            found.counts.clear()
            found("ntfs.unreadable", f"the volume cannot be read: {getattr(exc, 'strerror', None) or exc}")
            status = "unchecked"
        else:
            found("ntfs.internal", f"the check stopped at a structure it could not follow "
                  f"({exc.__class__.__name__}: {exc}); the findings before it stand")
            status = None
    finally:
        if gc_was_on:
            gc.enable()
    result = found.findings(names)
    if status is None:
        status = "errors" if any(f.severity in ("error", "critical") for f in result) else "clean"
    return CheckResult(status=status, findings=result, mft_records=stats.get("mft_records", 0),
                       seconds=round(time.monotonic() - t0, 3), stats=stats)


def _check(reader, found: Collector, names: dict[int, list], stats: dict, fast: bool) -> str | None:
    b = boot.read_boot(reader)
    if b.bitlocker:
        found("ntfs.bitlocker", bitlocker.MESSAGE)
        return "unchecked"
    if b.geometry is None and (reader.size < 512 or not b.ntfs_signed or b.truncated):
        found("ntfs.unreadable", "the volume is empty or shorter than one sector" if reader.size < 512 else
              "not an NTFS volume (no NTFS boot sector, nor a backup of one)" if not b.ntfs_signed else
              f"the volume is truncated: its boot sector describes more than the {reader.size} bytes there are")
        return "unchecked"
    for check, p in b.problems:
        found(check, p)
    if b.geometry is None:
        found("ntfs.boot", "no valid boot sector (primary nor backup): the volume cannot be checked further")
        return None
    geo = b.geometry
    stats["cluster_size"], stats["clusters"] = geo.cluster_size, geo.clusters
    layout, probs = mft.locate(reader, geo)
    for check, p in probs:
        found(check, p, 0)
    if layout is None:
        if reader.size < (geo.mft_lcn + 1) * geo.cluster_size:
            found("ntfs.unreadable", "the volume is truncated: $MFT lies beyond the end of the image")
            return "unchecked"
        return None
    if layout.runs and layout.runs[0][1] != geo.mft_lcn:
        found("ntfs.boot", f"the boot sector puts $MFT at cluster {geo.mft_lcn} but $MFT's runlist starts at "
              f"cluster {layout.runs[0][1]}", 0)
    n_cap = geo.clusters * geo.cluster_size // geo.record_size
    if layout.n_records > n_cap:
        layout = mft.MftLayout(layout.runs, layout.data_size, layout.init_size, n_cap)
    mirror_n = max(4, geo.cluster_size // geo.record_size) if geo.cluster_size > 4 * geo.record_size else 4
    table = clusters.RunTable()
    recs, in_use, states, head = scan.scan_mft(reader, geo, layout, table, found, mirror_n, fast)
    stats["mft_records"] = len(recs)
    read_attr = _attr_reader(reader, geo)
    extents = files.check_files(recs, geo, read_attr, found)
    found.owners.update((rn, r.base) for rn, r in recs.items() if r.base)
    for rn, r in recs.items():
        if not r.base and not r.broken:  # shared, not copied, when the record has no extents (read only)
            names[rn] = r.names + [n for e in extents[rn] for n in recs[e].names] if rn in extents else r.names
    sys_attrs = {rn: files.all_attrs(rn, recs, extents) for rn in (0, 1, 2, 3, 6, 7, 10)
                 if rn in recs and recs[rn].attrs}
    _mirror(reader, geo, head, sys_attrs.get(1, []), found)
    _mft_bitmap(reader, geo, layout, in_use, states, sys_attrs.get(0, []), found)
    _accounting(geo, table, sys_attrs.get(6, []), read_attr, found)
    upcase = _first(sys_attrs.get(10, []), 0x80)
    collate = indexes.collation(read_attr(upcase)) if upcase is not None else None
    _indexes(geo, recs, extents, names, read_attr, found, collate)
    _volume_state(sys_attrs, read_attr, found)
    system.check_system_files(recs, names, sys_attrs, read_attr, found)
    return None


def _attr_reader(reader, geo: Geometry):
    def read(a: records.Attr, limit: int = READ_LIMIT) -> bytes:
        if a.resident:
            return a.value
        mapped = sum(n for _v, _l, n in a.runs) * geo.cluster_size
        size = max(0, min(a.size, a.init if a.lowest_vcn == 0 else a.size, limit, mapped))
        return mft.read_clusters(reader, geo, a.runs, 0, size)
    return read


def _first(attrs: list[records.Attr], atype: int, name: str = "") -> records.Attr | None:
    parts = sorted((a for a in attrs if a.type == atype and a.name == name), key=lambda a: a.lowest_vcn)
    if not parts or parts[0].lowest_vcn != 0:
        return None
    if len(parts) == 1 or parts[0].resident:
        return parts[0]
    return parts[0]._replace(runs=tuple(r for p in parts for r in p.runs))


def _mirror(reader, geo: Geometry, head: bytes, mirr_attrs: list[records.Attr], found: Collector) -> None:
    """V1: $MFTMirr where the boot sector says, equal to the first records of $MFT."""
    data = _first(mirr_attrs, 0x80)
    if data is None or data.resident:
        found("ntfs.required-attr", "$MFTMirr (record 1) has no non-resident $DATA attribute", 1)
        return
    if data.runs and data.runs[0][1] != geo.mftmirr_lcn:
        found("ntfs.mftmirr", f"the boot sector puts $MFTMirr at cluster {geo.mftmirr_lcn} but its runlist starts "
              f"at cluster {data.runs[0][1]}", 1)
    rs = geo.record_size
    count = min(len(head) // rs, max(1, data.size // rs))
    mirror = reader.pread(count * rs, geo.mftmirr_lcn * geo.cluster_size)
    for i in range(count):
        a, m = bytearray(head[i * rs:(i + 1) * rs]), bytearray(mirror[i * rs:(i + 1) * rs])
        if a[:4] != b"FILE" or records.apply_fixups(a):
            continue  # the record's own damage is reported by the scan
        if len(m) < rs or m[:4] != b"FILE" or records.apply_fixups(m):
            found("ntfs.mftmirr", f"$MFTMirr's copy of record {i} is missing or damaged", i)
            continue
        ofs, cnt = struct.unpack_from("<HH", a, 4)
        used = min(struct.unpack_from("<I", a, 0x18)[0], rs)
        if a[:ofs] != m[:ofs] or a[ofs + 2 * cnt:used] != m[ofs + 2 * cnt:used]:
            found("ntfs.mftmirr", f"$MFTMirr's copy of record {i} differs from $MFT", i)


def _bits(data: bytes, n: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")[:n].astype(bool)
    return bits if len(bits) == n else np.concatenate((bits, np.zeros(n - len(bits), dtype=bool)))


def _mft_bitmap(reader, geo: Geometry, layout: mft.MftLayout, in_use: np.ndarray, states: np.ndarray,
                attrs: list[records.Attr], found: Collector) -> None:
    """C2: $MFT's $BITMAP against the in-use flags; a record the bitmap claims must be a valid record."""
    bm = _first(attrs, 0xB0)
    if bm is None:
        return  # reported as a missing required attribute
    n = layout.n_records
    data = bm.value if bm.resident else mft.read_clusters(reader, geo, bm.runs, 0, min(bm.size, n // 8 + 8))
    bits = _bits(data, n)
    for rn in np.nonzero(in_use & ~bits)[0].tolist():
        found("ntfs.mft-bitmap", f"file record {rn} is in use but free in $MFT's bitmap (it could be overwritten)",
              rn)
    why = {mft.ST_BAAD: "is marked BAAD (Windows found it damaged)", mft.ST_EMPTY: "is all zeros",
           mft.ST_BADSIG: "has no FILE signature"}
    for rn in np.nonzero(bits & ~in_use)[0].tolist():
        st = int(states[rn])
        if st in why:
            found("ntfs.record-header", f"file record {rn} is in use in $MFT's bitmap but {why[st]}", rn)
        elif not (rn < 24 and st == mft.ST_OK):  # records 16-23 are reserved: marked in the bitmap, held empty
            found("ntfs.mft-bitmap", f"file record {rn} is marked in use in $MFT's bitmap but holds no file in "
                  "use", rn)


def _accounting(geo: Geometry, table: clusters.RunTable, bitmap_attrs: list[records.Attr], read_attr,
                found: Collector) -> None:
    """C1: cross-links, clusters in use but free, lost clusters."""
    data = _first(bitmap_attrs, 0x80)
    need = (geo.clusters + 7) // 8
    bitmap = b""
    if data is None:
        found("ntfs.required-attr", "$Bitmap (record 6) has no $DATA attribute", 6)
    elif data.size < need:
        found("ntfs.bitmap", f"$Bitmap holds {data.size} bytes, too few for {geo.clusters} clusters", 6)
    else:
        bitmap = read_attr(data, need)
    acc = clusters.account(table, geo.clusters, bitmap if bitmap else b"\xff" * need)
    for rec, other, lcn in acc.cross_links:
        found("ntfs.cross-link", f"file records {other} and {rec} both own cluster {lcn}", rec)
    if not bitmap:
        return
    for lcn, n, owner in acc.used_but_free:
        by = f" by file record {owner}" if owner >= 0 else ""
        found("ntfs.bitmap", f"{n} cluster(s) from cluster {lcn} are in use{by} but free in $Bitmap (new files "
              "would overwrite them)", owner if owner >= 0 else None)
    if acc.lost:
        found("ntfs.bitmap", f"{acc.lost} cluster(s) are marked in use in $Bitmap but owned by no file (lost "
              f"clusters, the first is {acc.lost_first})", None)


def _indexes(geo: Geometry, recs: dict[int, scan.Rec], extents: dict[int, list[int]], names: dict[int, list],
             read_attr, found: Collector, collate=None) -> None:
    """D1 for every index of every file (and $I30 collation order), then D2/D3 over the $I30 entries."""
    entries: dict[int, list[indexes.Entry]] = {}
    broken: set[int] = set()
    for rn, r in recs.items():
        if r.base or r.broken or not r.types & files.T_IR:
            if r.is_dir and not r.base:
                broken.add(rn)
            continue
        attrs = files.all_attrs(rn, recs, extents)
        for root in (a for a in attrs if a.type == 0x90):
            ia = _first(attrs, 0xA0, root.name)
            bm = _first(attrs, 0xB0, root.name)
            ix = indexes.IndexInput(root.name, root.value,
                                    None if ia is None or ia.resident else read_attr(ia),
                                    0 if ia is None else ia.size, None if bm is None else read_attr(bm))
            i30 = root.name == "$I30"
            res = indexes.check_index(ix, geo.cluster_size, geo.index_size, i30, collate if i30 else None)
            for p in res.problems:
                found("ntfs.index", f"file record {rn}: {p}", rn)
            for p in res.order:
                found("ntfs.collation", f"file record {rn}: {p}", rn)
            if root.name == "$I30":
                entries[rn] = res.entries
                if res.problems:
                    broken.add(rn)
    namespace.check_linkage(recs, names, entries, broken, found)
    for d, ents in entries.items():  # a damaged record's name and place, as its directory lists it
        for e in ents:
            if e.record not in names and e.key.parent == d:
                names.setdefault(e.record, []).append(e.key)


def _volume_state(sys_attrs: dict[int, list[records.Attr]], read_attr, found: Collector) -> None:
    """V2 dirty flag, L1 $LogFile restart area."""
    info = _first(sys_attrs.get(3, []), 0x70)
    if info is None:
        found("ntfs.required-attr", "$Volume (record 3) has no $VOLUME_INFORMATION attribute", 3)
    elif volume.dirty(info.value):
        found("ntfs.dirty", "the volume is marked dirty: Windows found a problem or has chkdsk pending at boot", 3)
    log = _first(sys_attrs.get(2, []), 0x80)
    if log is None or log.resident:
        found("ntfs.required-attr", "$LogFile (record 2) has no non-resident $DATA attribute", 2)
        return
    head = read_attr(log, 128 << 10)
    damage = volume.logfile_damage(head)
    problem = volume.logfile_state(head)
    if damage:
        found("ntfs.logfile-damaged", damage, 2)
    elif problem:
        found("ntfs.logfile", problem, 2)
