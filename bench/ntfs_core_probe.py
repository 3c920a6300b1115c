"""Measure the candidates for the MFT scan stage on the same bytes: numpy (what runs) against C.

    .venv/bin/python bench/ntfs_core_probe.py [IMAGE]

Reads $MFT of the volume in the checker's 8 MiB chunks once, keeps the raw chunks, then times
(best of 5, on copies) the numpy stage (mft.fixup_chunk + fastpath.triage + the summaries of
scan._fast_records, which build the per-record objects) and the C triage of
bench/ntfs_core_probe.c (built here with gcc -O2, loaded with ctypes; it builds no object).
This is a measurement for choosing the fast path, not a checker: it prints records/s of each.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from autoverify.checks.ntfs import boot, mft, scan
from autoverify.readers import open_reader

HERE = Path(__file__).resolve().parent


def main() -> int:
    sys.path.insert(0, str(HERE))
    from ntfs_volumes_big import volume

    image = sys.argv[1] if len(sys.argv) > 1 else str(volume("100k"))
    with open_reader(image) as r:
        geo = boot.read_boot(r).geometry
        assert geo is not None
        layout, _ = mft.locate(r, geo)
        assert layout is not None
        chunks = [(first, arr.copy()) for first, arr in mft.iter_chunks(r, geo, layout)]
    n = sum(len(a) for _f, a in chunks)
    with tempfile.TemporaryDirectory() as tmp:
        so = Path(tmp) / "probe.so"
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(so), str(HERE / "ntfs_core_probe.c")], check=True)
        lib = ctypes.CDLL(str(so))
        lib.triage.restype = ctypes.c_long
        lib.triage.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        best_np = best_c = 1e9
        for _ in range(5):
            work = [(f, a.copy()) for f, a in chunks]
            t0 = time.perf_counter()
            recs: dict[int, scan.Rec] = {}
            for first, arr in work:
                state = mft.fixup_chunk(arr)
                flags = arr[:, 0x16:0x18].copy().view("<u2").ravel()
                rows = np.nonzero((flags & 1).astype(bool) & (state == mft.ST_OK))[0]
                scan._fast_records(arr, rows, first, memoryview(arr.reshape(-1).data), geo.record_size, recs)
            best_np = min(best_np, time.perf_counter() - t0)
            work = [(f, a.copy()) for f, a in chunks]
            parents = np.zeros(4096, dtype=np.uint64)
            t0 = time.perf_counter()
            simple = 0
            for _first, arr in work:
                st = np.zeros(len(arr), dtype=np.uint8)
                lib.triage(arr.ctypes.data, len(arr), geo.record_size, st.ctypes.data, parents.ctypes.data)
                simple += int((st == 1).sum())
            best_c = min(best_c, time.perf_counter() - t0)
    print(f"records             : {n:,} ({len(recs):,} summarised by numpy, {simple:,} simple for C)")
    print(f"numpy scan stage    : {best_np:.3f} s, {n / best_np:,.0f} records/s (objects built per record)")
    print(f"C triage (ctypes)   : {best_c:.3f} s, {n / best_c:,.0f} records/s (no object per record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
