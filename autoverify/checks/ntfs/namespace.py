"""File name linkage (D2, D3): directory entries against file records, orphans, cycles, paths.

Works on the directory entries `indexes.check_index` collected and the $FILE_NAME attributes
the scan kept, so it reads nothing from the volume.
"""

from __future__ import annotations

from collections.abc import Callable

from autoverify.checks.ntfs.indexes import Entry
from autoverify.checks.ntfs.scan import Rec

ROOT = 5
Report = Callable[[str, str, int | None], None]


def check_linkage(recs: dict[int, Rec], names: dict[int, list], entries: dict[int, list[Entry]],
                  broken_dirs: set[int], report: Report) -> None:
    """Every entry points to a matching record; every name of every file is indexed; no cycles."""
    indexed: set[tuple[int, int, str]] = set()
    add, rec_of, names_of = indexed.add, recs.get, names.get  # bound once: this loop runs once per entry
    for d, ents in entries.items():
        for e in ents:
            rn, seq, key = e
            name = key.name
            add((rn, d, name))
            t = rec_of(rn)
            if t is not None and t.seq == seq and not t.base and key.parent == d and not t.broken:
                for fn in names_of(rn, ()):
                    if fn.parent == d and fn.name == name:
                        break
                else:
                    _dangling(d, e, recs, names, report)
                continue
            _dangling(d, e, recs, names, report)
    for rn, r in recs.items():
        if r.base or r.broken or r.seq == 0 and rn > 15:
            continue
        for fn in names_of(rn, ()):
            parent, _pseq, _ns, name = fn[:4]
            if (rn, parent, name) in indexed or parent in broken_dirs:
                continue
            p = recs.get(fn.parent)
            if p is None or not p.is_dir or p.base:
                report("ntfs.orphan", f"file record {rn} ('{fn.name}') names parent record {fn.parent}, which is "
                       "not a directory in use", rn)
            else:
                report("ntfs.orphan", f"file record {rn} ('{fn.name}') is not listed in its parent directory "
                       f"(record {fn.parent})", rn)
    _cycles(recs, names, report)


def _dangling(d: int, e: Entry, recs: dict[int, Rec], names: dict[int, list], report: Report) -> None:
    t = recs.get(e.record)
    label = f"directory record {d}: entry '{e.key.name}'"
    if e.key.parent != d:
        report("ntfs.dangling", f"{label} says its parent is record {e.key.parent}", d)
    elif t is None:
        report("ntfs.dangling", f"{label} points to record {e.record}, which is not in use", d)
    elif t.broken:
        return  # the record's own damage is already reported
    elif t.base:
        report("ntfs.dangling", f"{label} points to record {e.record}, an extent record, not a file", d)
    elif t.seq != e.seq:
        report("ntfs.dangling", f"{label} points to record {e.record} with sequence {e.seq}, but the record "
               f"has sequence {t.seq} (a stale entry)", d)
    elif not any(fn.parent == d and fn.name == e.key.name for fn in names.get(e.record, ())):
        report("ntfs.dangling", f"{label} points to record {e.record}, which has no such name in this "
               "directory", d)


def _cycles(recs: dict[int, Rec], names: dict[int, list], report: Report) -> None:
    """Follow each directory's parent chain; a chain that comes back on itself is a cycle."""
    good = {ROOT}
    for rn, r in recs.items():
        if not r.is_dir or r.base or rn in good:
            continue
        chain, cur = [], rn
        while cur not in good:
            fns = names.get(cur)
            p = recs.get(cur)
            if not fns or p is None or cur in chain:
                if cur in chain:
                    report("ntfs.cycle", f"directory record {cur} is its own ancestor (a directory cycle)", cur)
                break
            chain.append(cur)
            cur = fns[0].parent
        else:
            good.update(chain)


def path_of(rn: int, names: dict[int, list], cache: dict[int, str | None]) -> str | None:
    """Best-effort path of a record (Win32/POSIX names preferred over DOS ones), None when unknown."""
    if rn in cache:
        return cache[rn]
    parts, cur, seen = [], rn, set()
    while cur != ROOT:
        fns = names.get(cur)
        if not fns or cur in seen or len(parts) > 64:
            cache[rn] = None
            return None
        seen.add(cur)
        fn = min(fns, key=lambda f: f.namespace == 2)
        parts.append(fn.name)
        cur = fn.parent
    cache[rn] = "\\" + "\\".join(reversed(parts))
    return cache[rn]
