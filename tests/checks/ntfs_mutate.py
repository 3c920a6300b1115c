"""Mutations of clean NTFS volumes for the fuzz harness (tests/checks/test_ntfs_fuzz.py, bench/ntfs_fuzz.py).

A mutant is an overlay on a reader (the image is never written): bit flips, random bytes and
field-aware values written into the structures the checker parses (boot sectors, file record
headers, attribute headers and values, runlists, INDX blocks, $LogFile restart pages), whole
records zeroed or copied over others, and truncation. Every case must end in clean / errors /
unchecked with sentences: `judge` says what went wrong when it does not.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from autoverify.checks.ntfs import mft, records
from autoverify.checks.ntfs.boot import Geometry, read_boot
from autoverify.models import CheckResult
from autoverify.readers import Reader

BOOT_FIELDS = ((3, 8), (11, 2), (13, 1), (14, 2), (16, 1), (0x15, 1), (0x28, 8), (0x30, 8), (0x38, 8), (0x40, 1),
               (0x44, 1), (0x48, 8), (510, 2))
RECORD_FIELDS = ((0, 4), (4, 2), (6, 2), (0x10, 2), (0x12, 2), (0x14, 2), (0x16, 2), (0x18, 4), (0x1C, 4),
                 (0x20, 8), (0x28, 2), (0x2C, 4))
ATTR_FIELDS = ((0, 4), (4, 4), (8, 1), (9, 1), (10, 2), (12, 2), (14, 2))
RESIDENT_FIELDS = ((16, 4), (20, 2))
NONRES_FIELDS = ((16, 8), (24, 8), (32, 2), (34, 2), (40, 8), (48, 8), (56, 8))
INDX_FIELDS = ((0, 4), (4, 2), (6, 2), (0x10, 8), (0x18, 4), (0x1C, 4), (0x20, 4), (0x24, 1))
ENTRY_FIELDS = ((0, 8), (8, 2), (10, 2), (12, 2), (16, 8), (16 + 0x40, 1), (16 + 0x41, 1))
RSTR_FIELDS = ((0, 4), (4, 2), (6, 2), (0x10, 4), (0x14, 4), (0x18, 2), (0x1A, 2))
MAX_RECORDS = 400  # regions taken from at most this many in-use records


@dataclass(frozen=True)
class Region:
    """Bytes of one on-disk structure and the fields in it (offset from `start`, width)."""

    kind: str
    start: int
    length: int
    fields: tuple[tuple[int, int], ...] = ()


class BytesReader:
    """A reader over bytes in memory (a small volume read once, so 10,000 cases cost no I/O)."""

    def __init__(self, data: bytes) -> None:
        self._d, self.size = data, len(data)

    def pread(self, length: int, offset: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        return bytes(self._d[offset:offset + length])


class Mutant:
    """A reader over another one with byte ranges replaced and maybe a shorter size."""

    def __init__(self, base: Reader, patches: list[tuple[int, bytes]], size: int) -> None:
        self._b, self._p, self.size = base, patches, size

    def pread(self, length: int, offset: int) -> bytes:
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        data = self._b.pread(min(length, self.size - offset), offset)
        end = offset + len(data)
        hits = [(p, b) for p, b in self._p if p < end and p + len(b) > offset]
        if not hits:
            return data
        out = bytearray(data)
        for pos, b in hits:  # in order: a later patch wins where two overlap
            lo, hi = max(pos, offset), min(pos + len(b), end)
            out[lo - offset:hi - offset] = b[lo - pos:hi - pos]
        return bytes(out)


def _disk_offset(layout: mft.MftLayout, cluster_size: int, byte: int, length: int) -> int | None:
    """Where bytes [byte, byte+length) of $MFT's data lie on the volume, if inside one run."""
    for vcn, lcn, n in layout.runs:
        lo, hi = vcn * cluster_size, (vcn + n) * cluster_size
        if lo <= byte and byte + length <= hi and lcn >= 0:
            return lcn * cluster_size + byte - lo
    return None


def regions(reader: Reader) -> list[Region]:
    """The structures of a clean volume worth damaging, with their fields."""
    geo = read_boot(reader).geometry
    assert geo is not None, "the fuzz base volume must be clean"
    layout, _ = mft.locate(reader, geo)
    assert layout is not None
    cs, rs = geo.cluster_size, geo.record_size
    out = [Region("boot", 0, 512, BOOT_FIELDS),
           Region("boot", geo.total_sectors * geo.bytes_per_sector, 512, BOOT_FIELDS),
           Region("mftmirr", geo.mftmirr_lcn * cs, 4 * rs, RECORD_FIELDS)]
    taken = 0
    for rn in range(layout.n_records):
        at = _disk_offset(layout, cs, rn * rs, rs)
        if at is None or taken >= MAX_RECORDS:
            continue
        raw = bytearray(reader.pread(rs, at))
        if raw[:4] != b"FILE" or records.apply_fixups(raw) or not struct.unpack_from("<H", raw, 0x16)[0] & 1:
            continue
        taken += 1
        out.append(Region("record", at, rs, RECORD_FIELDS))
        out += _attribute_regions(reader, geo, raw, at)
    return out


def _attribute_regions(reader: Reader, geo: Geometry, raw: bytearray, at: int) -> list[Region]:
    h = records.header(bytes(raw))
    attrs, _ = records.walk_attributes(bytes(raw), h, geo.cluster_size)
    out = []
    for a in attrs:
        alen = struct.unpack_from("<I", raw, a.offset + 4)[0]
        out.append(Region("attribute", at + a.offset, alen, ATTR_FIELDS + (NONRES_FIELDS if not a.resident
                                                                            else RESIDENT_FIELDS)))
        if a.resident:
            vofs = struct.unpack_from("<H", raw, a.offset + 20)[0]
            out.append(Region("value", at + a.offset + vofs, max(1, len(a.value)), _value_fields(a.type)))
            continue
        mp = struct.unpack_from("<H", raw, a.offset + 32)[0]
        out.append(Region("runlist", at + a.offset + mp, max(1, alen - mp), ((0, 1), (1, 1), (2, 2), (4, 4))))
        if a.type == 0xA0 and a.runs and a.runs[0][1] >= 0:
            out += _index_regions(reader, geo, a)
        if a.type == 0x80 and h.base_ref == 0 and a.runs and a.runs[0][1] >= 0 and geo.mft_lcn and \
                a.runs[0][1] * geo.cluster_size != at:
            start = a.runs[0][1] * geo.cluster_size
            if reader.pread(4, start) in (b"RSTR", b"CHKD"):  # $LogFile's restart pages
                out += [Region("logfile", start, 4096, RSTR_FIELDS), Region("logfile", start + 4096, 4096,
                                                                             RSTR_FIELDS)]
    return out


def _value_fields(atype: int) -> tuple[tuple[int, int], ...]:
    if atype == 0x30:  # $FILE_NAME: parent reference, sizes, flags, name length, namespace
        return ((0, 8), (6, 2), (0x28, 8), (0x30, 8), (0x38, 4), (0x40, 1), (0x41, 1))
    if atype == 0x90:  # $INDEX_ROOT: type, collation, block size, node header, first entry
        return ((0, 4), (4, 4), (8, 4), (12, 1), (16, 4), (20, 4), (24, 4), (32, 8), (40, 2), (42, 2), (44, 2))
    if atype == 0x20:  # $ATTRIBUTE_LIST entry: type, length, lowest VCN, reference, instance
        return ((0, 4), (4, 2), (6, 1), (8, 8), (16, 8), (24, 2))
    return ((0, 1), (0, 4), (0, 8))


def _index_regions(reader: Reader, geo: Geometry, a: records.Attr) -> list[Region]:
    """The first INDX blocks of an index allocation, with the entry fields of their first entries."""
    out = []
    block = geo.index_size
    start = a.runs[0][1] * geo.cluster_size
    for k in range(min(4, a.runs[0][2] * geo.cluster_size // block)):
        pos = start + k * block
        buf = bytearray(reader.pread(block, pos))
        if buf[:4] != b"INDX" or records.apply_fixups(buf):
            continue
        fields = list(INDX_FIELDS)
        e = 0x18 + struct.unpack_from("<I", buf, 0x18)[0]
        for _ in range(8):
            if e + 16 > len(buf):
                break
            fields += [(e + f, w) for f, w in ENTRY_FIELDS if e + f + w <= block]
            elen = struct.unpack_from("<H", buf, e + 8)[0]
            if elen < 16 or buf[e + 12] & 2:
                break
            e += elen
        out.append(Region("index", pos, block, tuple(fields)))
    return out


def _interesting(rng: random.Random, width: int, orig: int) -> int:
    top = (1 << (8 * width)) - 1
    return rng.choice((0, 1, top, top >> 1, (top >> 1) + 1, (orig + 1) & top, (orig - 1) & top, (orig * 2) & top,
                       orig ^ (1 << rng.randrange(8 * width)), rng.randrange(16), rng.getrandbits(8 * width)))


def mutate(rng: random.Random, reader: Reader, targets: list[Region]) -> Mutant:
    """1-4 damages of the kinds the checker must survive, drawn from `rng` (plain or hypothesis')."""
    patches: list[tuple[int, bytes]] = []
    size = reader.size
    for _ in range(rng.choice((1, 1, 2, 4))):
        r = rng.choice(targets)
        op = rng.choice(("bitflip", "field", "field", "field", "bytes", "zero", "copy", "truncate"))
        if op == "field" and r.fields:
            ofs, width = rng.choice(r.fields)
            orig = int.from_bytes(reader.pread(width, r.start + ofs).ljust(width, b"\0"), "little")
            patches.append((r.start + ofs, _interesting(rng, width, orig).to_bytes(width, "little")))
        elif op == "bytes":
            n = rng.choice((1, 2, 4, 8, 16))
            patches.append((r.start + rng.randrange(r.length), rng.randbytes(n)))
        elif op == "zero":
            patches.append((r.start, bytes(r.length)))
        elif op == "copy":
            other = rng.choice([t for t in targets if t.kind == r.kind])
            patches.append((r.start, reader.pread(min(r.length, other.length), other.start)))
        elif op == "truncate":
            size = min(size, rng.choice((0, 100, 511, 4096, rng.randrange(max(1, reader.size)))))
        else:
            pos = r.start + rng.randrange(r.length)
            old = reader.pread(1, pos) or b"\0"
            patches.append((pos, bytes([old[0] ^ (1 << rng.randrange(8))])))
    return Mutant(reader, patches, size)


def judge(result: CheckResult, size: int) -> str | None:
    """None when the verdict is acceptable, else what is wrong with it (one line)."""
    if result.status not in ("clean", "errors", "unchecked"):
        return f"status {result.status!r}"
    internal = [f.message for f in result.findings if f.check == "ntfs.internal"]
    if internal:
        return f"internal: {internal[0]}"
    if result.status == "unchecked" and (len(result.findings) != 1 or not result.findings[0].message.endswith(".")):
        return f"unchecked without one sentence: {[f.message for f in result.findings]}"
    bad = [f.message for f in result.findings if not f.message or not f.message.endswith(".")
           or "Traceback" in f.message]
    if bad:
        return f"not a sentence: {bad[0]!r}"
    if size < 512 and result.status != "unchecked":
        return f"a {size}-byte volume is {result.status}"
    return None


def load(image: str) -> BytesReader | None:
    """The volume in memory when it is small (most are), else None (read it from the file)."""
    import os

    if os.path.getsize(image) > 64 << 20:
        return None
    with open(image, "rb") as fh:
        return BytesReader(fh.read())


@dataclass(frozen=True)
class Outcome:
    case: int
    status: str  # clean / errors / unchecked, or hang / crash when the worker had to be stopped
    problem: str | None
    seconds: float
    maxrss_mb: float


def run_cases(image: str, cases: range, seed: int, timeout: float = 20.0, memory_mb: int = 1024) -> list[Outcome]:
    """Check the mutants `cases` of `image` in a worker process whose address space is limited to
    `memory_mb` (a blow-up is a MemoryError, i.e. an 'internal' failure) and stopped after `timeout` s
    on one case (a hang); a worker that dies is a crash. The worker is restarted after either."""
    import json
    import selectors
    import subprocess
    import sys

    out: list[Outcome] = []
    todo = list(cases)
    while todo:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", image, str(seed), str(memory_mb)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert proc.stdin is not None and proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            while todo:
                case = todo[0]
                proc.stdin.write(f"{case}\n")
                proc.stdin.flush()
                line = proc.stdout.readline() if sel.select(timeout) else None
                if line is None or not line:
                    status = "hang" if line is None else "crash"
                    out.append(Outcome(case, status, f"{status} (exit {proc.poll()})", timeout, 0.0))
                    todo.pop(0)
                    break
                d = json.loads(line)
                out.append(Outcome(case, d["status"], d["problem"], d["seconds"], d["maxrss_mb"]))
                todo.pop(0)
        finally:
            proc.kill()
            proc.wait()
            sel.close()
    return out


def _worker(image: str, seed: int, memory_mb: int) -> None:
    """Read case numbers on stdin, answer one JSON line each (the child side of `run_cases`)."""
    import json
    import resource
    import sys
    import time

    from autoverify.checks.ntfs import check_ntfs
    from autoverify.readers import open_reader

    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    with open_reader(image) as fr:
        base = load(image) or fr
        targets = regions(base)
        for line in sys.stdin:
            case = int(line)
            m = mutate(random.Random(seed * 1_000_003 + case), base, targets)
            t0 = time.monotonic()
            try:
                result = check_ntfs(m)
                status, problem = result.status, judge(result, m.size)
            except Exception as exc:  # noqa: BLE001 - a traceback out of the checker is the failure we look for
                status, problem = "traceback", f"{exc.__class__.__name__}: {exc}"
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({"status": status, "problem": problem, "seconds": time.monotonic() - t0,
                              "maxrss_mb": rss}), flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
