"""The NTFS boot sector (B1) and its backup (B2): the volume's geometry, or why there is none.

A damaged primary boot sector is corruption, but the volume stays checkable when the backup
(the sector after the last volume sector, or the device's last sector) is valid: like chkdsk,
the check then goes on with the backup's geometry.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from autoverify.checks.bitlocker import is_bitlocker

NTFS_OEM = b"NTFS    "


@dataclass(frozen=True)
class Geometry:
    bytes_per_sector: int
    cluster_size: int
    total_sectors: int
    clusters: int
    mft_lcn: int
    mftmirr_lcn: int
    record_size: int
    index_size: int
    serial: int


@dataclass(frozen=True)
class BootResult:
    geometry: Geometry | None
    problems: tuple[tuple[str, str], ...]  # (check id, sentence)
    bitlocker: bool = False
    ntfs_signed: bool = False  # some copy carried the NTFS signature
    truncated: bool = False  # a sane boot sector describing a volume larger than the device, no backup


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _size_code(code: int, cluster_size: int) -> int:
    """Record/index size: positive = clusters, negative = 2**-code bytes (signed byte)."""
    code = code - 256 if code > 127 else code
    if code < 0:
        return 1 << -code if -code < 31 else 0
    return code * cluster_size


def parse(sector: bytes, device_size: int) -> tuple[Geometry | None, list[str]]:
    """Decode a boot sector; the geometry only when every parameter is sane."""
    if len(sector) < 512:
        return None, ["the boot sector cannot be read (the device is shorter than one sector)"]
    probs = []
    if sector[3:11] != NTFS_OEM:
        probs.append(f"the file system signature is {sector[3:11]!r}, not 'NTFS    '")
    if sector[510:512] != b"\x55\xaa":
        probs.append(f"the end-of-sector marker is {sector[510:512].hex()}, not 55aa")
    bps, spc_code = struct.unpack_from("<HB", sector, 11)
    reserved, fats, root_entries, small_sectors, media, spf = struct.unpack_from("<HBHHBH", sector, 14)
    total, mft, mirr = struct.unpack_from("<QQQ", sector, 0x28)
    rec_code, idx_code = sector[0x40], sector[0x44]
    serial = struct.unpack_from("<Q", sector, 0x48)[0]
    if not _pow2(bps) or not 256 <= bps <= 4096:
        probs.append(f"bytes per sector is {bps}, not a power of two from 256 to 4096")
    spc = 1 << (256 - spc_code) if spc_code > 0x80 else spc_code  # 0x80 is 128; above, 2**-(signed code)
    if not _pow2(spc) or spc > 4096:
        probs.append(f"sectors per cluster code {spc_code} is invalid")
    if reserved or fats or root_entries or small_sectors or spf or struct.unpack_from("<I", sector, 0x20)[0]:
        probs.append("FAT-only fields (reserved sectors, FAT count, root entries, small sector count) are not zero")
    cs = bps * spc
    clusters = total // spc if spc else 0
    if total == 0 or total * bps > device_size:
        probs.append(f"total sectors {total} ({total * bps} bytes) exceed the device ({device_size} bytes)"
                     if total else "total sectors is 0")
    if not 0 < mft < clusters:
        probs.append(f"the $MFT cluster number {mft} lies outside the volume ({clusters} clusters)")
    if not 0 < mirr < clusters:
        probs.append(f"the $MFTMirr cluster number {mirr} lies outside the volume ({clusters} clusters)")
    if mft == mirr:
        probs.append(f"$MFT and $MFTMirr both start at cluster {mft}")
    rec, idx = _size_code(rec_code, cs), _size_code(idx_code, cs)
    if not _pow2(rec) or not 256 <= rec <= 65536 or rec < bps:
        probs.append(f"file record size code {rec_code:#04x} gives an invalid size ({rec} bytes)")
    if not _pow2(idx) or not 256 <= idx <= 65536:
        probs.append(f"index record size code {idx_code:#04x} gives an invalid size ({idx} bytes)")
    if probs:
        return None, probs
    return Geometry(bps, cs, total, clusters, mft, mirr, rec, idx, serial), []


def read_boot(reader) -> BootResult:
    """Geometry from the primary boot sector, else from a valid backup; B1/B2 problems either way."""
    primary = reader.pread(512, 0)
    if is_bitlocker(primary):
        return BootResult(None, (), bitlocker=True)
    geo, probs = parse(primary, reader.size)
    found: list[tuple[str, str]] = [("ntfs.boot", p) for p in probs]
    signed = primary[3:11] == NTFS_OEM
    if geo:
        where = geo.total_sectors * geo.bytes_per_sector
        backup = reader.pread(512, where)
        if len(backup) < 512:
            found.append(("ntfs.boot-backup", f"the backup boot sector (byte {where}) lies beyond the end of "
                                              "the device"))
        elif backup != primary[:512]:
            bgeo, _ = parse(backup, reader.size)
            what = "differs from the primary" if bgeo else "is missing or invalid"
            found.append(("ntfs.boot-backup", f"the backup boot sector at byte {where} {what}"))
        return BootResult(geo, tuple(found), ntfs_signed=True)
    for where in _backup_candidates(primary, reader.size):
        backup = reader.pread(512, where)
        signed = signed or backup[3:11] == NTFS_OEM
        bgeo, _ = parse(backup, reader.size)
        if bgeo and bgeo.total_sectors * bgeo.bytes_per_sector in (where, reader.size - bgeo.bytes_per_sector):
            found.append(("ntfs.boot", f"the primary boot sector is damaged; using the backup at byte {where}"))
            return BootResult(bgeo, tuple(found), ntfs_signed=True)
    whole, _ = parse(primary, 1 << 62)
    truncated = whole is not None and whole.total_sectors * whole.bytes_per_sector > reader.size
    return BootResult(None, tuple(found), ntfs_signed=signed, truncated=truncated)


def _backup_candidates(primary: bytes, device_size: int) -> list[int]:
    """Where a backup may be: after the volume per the primary's (maybe damaged) size, the device's end."""
    out = []
    if len(primary) >= 0x30:
        bps = struct.unpack_from("<H", primary, 11)[0]
        total = struct.unpack_from("<Q", primary, 0x28)[0]
        if _pow2(bps) and 0 < total * bps <= device_size - 512:
            out.append(total * bps)
    for bps in (512, 4096):
        if device_size >= 2 * bps and device_size % bps == 0:
            out.append(device_size - bps)
    return list(dict.fromkeys(out))
