"""System files (records 0-10): present, in use, named as NTFS names them, and the few sizes and
places that are fixed ($Boot at cluster 0, a 128 KiB $UpCase table that upper-cases ASCII)."""

from __future__ import annotations

from collections.abc import Callable

from autoverify.checks.ntfs import records
from autoverify.checks.ntfs.scan import Rec

Report = Callable[[str, str, int | None], None]
NAMES = {0: "$MFT", 1: "$MFTMirr", 2: "$LogFile", 3: "$Volume", 4: "$AttrDef", 5: ".", 6: "$Bitmap",
         7: "$Boot", 8: "$BadClus", 10: "$UpCase"}  # 9 is $Secure (NTFS 3.x) or $Quota (NT4)


def check_system_files(recs: dict[int, Rec], names: dict[int, list], attrs: dict[int, list[records.Attr]],
                       read_attr: Callable[[records.Attr], bytes], report: Report) -> None:
    for rn, expected in NAMES.items():
        r = recs.get(rn)
        if r is None:
            report("ntfs.system-file", f"system file record {rn} ({expected}) is not in use", rn)
            continue
        if r.broken:
            continue  # its damage is reported already
        got = {fn.name for fn in names.get(rn, ())}
        if got and expected not in got:
            report("ntfs.system-file", f"system file record {rn} is named {sorted(got)[0]!r}, not {expected!r}", rn)
        if rn == 5 and not r.is_dir:
            report("ntfs.system-file", "the root directory (record 5) is not marked as a directory", 5)
    boot = _data(attrs.get(7, []))
    if boot is not None and not boot.resident and boot.runs and boot.runs[0][1] != 0:
        report("ntfs.system-file", f"$Boot starts at cluster {boot.runs[0][1]}, not at cluster 0", 7)
    upcase = _data(attrs.get(10, []))
    if upcase is not None:
        table = read_attr(upcase)
        ascii_ok = len(table) >= 256 and all(
            table[2 * c] == (c - 32 if 97 <= c <= 122 else c) and not table[2 * c + 1] for c in range(128))
        if upcase.size != 131072 or not ascii_ok:
            report("ntfs.system-file", f"$UpCase is not a valid upper-case table ({upcase.size} bytes)", 10)


def _data(attrs: list[records.Attr]) -> records.Attr | None:
    return next((a for a in attrs if a.type == 0x80 and not a.name and a.lowest_vcn == 0), None)
