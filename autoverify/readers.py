"""Byte-range readers over a volume inside a disk image, for checks that parse raw structures.

A raw image is read directly (a local file plus an offset: no copy, no appliance). Any other
format or a backing chain goes through `qemu-nbd --read-only` on a private Unix socket, read
with libnbd's Python binding: never the host kernel's /dev/nbd, never a write, and the
qemu-nbd process is always terminated on exit.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from autoverify.errors import ImageError
from autoverify.models import DiskImage

_MAGICS = ((b"QFI\xfb", "qcow2"), (b"KDMV", "vmdk"), (b"vhdxfile", "vhdx"))


class Reader(Protocol):
    """What checks need: a size and positioned reads (short only at the end of the range)."""

    size: int

    def pread(self, length: int, offset: int) -> bytes: ...


class FileReader:
    """A window [offset, offset+size) of a local file, read with os.pread."""

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self._fd, self._base, self.size = fd, offset, size

    def pread(self, length: int, offset: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        chunks, pos = [], offset
        while length > 0:  # os.pread may return short reads for very large requests
            data = os.pread(self._fd, min(length, 1 << 30), self._base + pos)
            if not data:
                break
            chunks.append(data)
            pos += len(data)
            length -= len(data)
        return b"".join(chunks)


class NbdReader:
    """A window of an NBD export (qemu-nbd over a Unix socket), read through libnbd."""

    def __init__(self, handle, offset: int, size: int) -> None:
        self._h, self._base, self.size = handle, offset, size

    def pread(self, length: int, offset: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        step = 32 << 20  # NBD servers cap one request (qemu-nbd: 32 MiB)
        return b"".join(self._h.pread(min(step, length - done), self._base + offset + done)
                        for done in range(0, length, step))


def sniff_format(path: str) -> str:
    """The image format from its first bytes: raw unless a known container magic is there."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ImageError(f"cannot read the image {path}: {exc.strerror or exc}.") from None
    for magic, fmt in _MAGICS:
        if head.startswith(magic):
            return fmt
    return "raw"


def _window(total: int, offset: int, size: int | None, path: str) -> int:
    if offset < 0 or offset > total:
        raise ImageError(f"offset {offset} lies outside the image {path} ({total} bytes).")
    return total - offset if size is None else min(size, total - offset)


@contextmanager
def open_reader(disk: DiskImage | str, offset: int = 0, size: int | None = None,
                fmt: str | None = None) -> Iterator[Reader]:
    """A read-only Reader over bytes [offset, offset+size) of the disk's virtual contents."""
    path = disk.path if isinstance(disk, DiskImage) else str(disk)
    chain = disk.backing_chain if isinstance(disk, DiskImage) else ()
    if fmt is None and isinstance(disk, DiskImage) and disk.format not in ("", "unknown"):
        fmt = disk.format
    fmt = fmt or sniff_format(path)
    if fmt == "raw" and not chain:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise ImageError(f"cannot open the image {path}: {exc.strerror or exc}.") from None
        try:
            total = os.lseek(fd, 0, os.SEEK_END)
            yield FileReader(fd, offset, _window(total, offset, size, path))
        finally:
            os.close(fd)
        return
    with _nbd_export(path, fmt) as handle:
        yield NbdReader(handle, offset, _window(handle.get_size(), offset, size, path))


@contextmanager
def _nbd_export(path: str, fmt: str):
    """qemu-nbd --read-only on a socket in a private temp dir, connected with libnbd; always cleaned up."""
    if not shutil.which("qemu-nbd"):
        raise ImageError(f"cannot read the {fmt} image {path}: qemu-nbd is not installed.")
    import nbd

    tmp = tempfile.mkdtemp(prefix="autoverify-nbd-")
    sock = os.path.join(tmp, "nbd.sock")
    proc = subprocess.Popen(["qemu-nbd", "--read-only", "--persistent", f"--format={fmt}", "--shared=4",
                             "-k", sock, path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        handle = _connect(nbd, proc, sock, path)
        try:
            yield handle
        finally:
            try:
                handle.shutdown()
            except nbd.Error:
                pass
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _connect(nbd, proc: subprocess.Popen, sock: str, path: str):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip().splitlines()
            reason = err[-1] if err else f"exit status {proc.returncode}"
            raise ImageError(f"qemu-nbd cannot open the image {path}: {reason}.")
        if os.path.exists(sock):
            handle = nbd.NBD()
            try:
                handle.connect_unix(sock)
                return handle
            except nbd.Error:
                del handle  # not up yet: retry with a fresh handle
        time.sleep(0.05)
    raise ImageError(f"qemu-nbd did not start serving the image {path} within 30 s.")


class Window:
    """A sub-range of another reader (a partition inside a disk)."""

    def __init__(self, reader: Reader, offset: int, size: int) -> None:
        self._r, self._base = reader, offset
        self.size = max(0, min(size, reader.size - offset))

    def pread(self, length: int, offset: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        return self._r.pread(min(length, self.size - offset), self._base + offset)


_EXTENDED = {0x05, 0x0F, 0x85}


def find_partition(disk: Reader, number: int, name: str = "the image") -> tuple[int, int]:
    """(byte offset, size) of partition `number` (1-based, as Linux numbers them) from the GPT or MBR."""
    mbr = disk.pread(512, 0)
    if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
        raise ImageError(f"{name} has no partition table (no MBR signature in its first sector).")
    if mbr[3:11] in (b"NTFS    ", b"-FVE-FS-"):
        raise ImageError(f"{name} is a bare volume, not a partitioned disk: check it without --partition.")
    types = [mbr[0x1BE + 16 * i + 4] for i in range(4)]
    if 0xEE in types:
        for sector in (512, 4096):
            hdr = disk.pread(92, sector)
            if hdr[:8] == b"EFI PART":
                return _gpt_partition(disk, hdr, sector, number, name)
        raise ImageError(f"{name} has a protective MBR but no readable GPT header.")
    parts = _mbr_partitions(disk, mbr)
    if number not in parts:
        raise ImageError(f"{name} has no partition {number} (its MBR lists {sorted(parts) or 'none'}).")
    return parts[number]


def _gpt_partition(disk: Reader, hdr: bytes, sector: int, number: int, name: str) -> tuple[int, int]:
    lba, count, esize = struct.unpack_from("<QII", hdr, 0x48)
    if not 1 <= number <= min(count, 1024) or esize < 56:
        raise ImageError(f"{name} has no GPT partition {number} (its table has {count} entries).")
    entry = disk.pread(esize, lba * sector + (number - 1) * esize)
    first, last = struct.unpack_from("<QQ", entry, 32) if len(entry) >= 48 else (0, 0)
    if entry[:16] == bytes(16) or last < first:
        raise ImageError(f"{name} has no GPT partition {number} (that entry is empty).")
    return first * sector, (last - first + 1) * sector


def _mbr_partitions(disk: Reader, mbr: bytes) -> dict[int, tuple[int, int]]:
    """Primary partitions 1-4 and logical ones from 5 along the extended partition's EBR chain."""
    parts, ext_base = {}, None
    for i in range(4):
        ptype, start, count = mbr[0x1BE + 16 * i + 4], *struct.unpack_from("<II", mbr, 0x1BE + 16 * i + 8)
        if ptype in _EXTENDED:
            ext_base = start
        elif ptype and count:
            parts[i + 1] = (start * 512, count * 512)
    ebr, number, seen = ext_base, 5, set()
    while ebr is not None and ebr not in seen and len(seen) < 128:
        seen.add(ebr)
        sec = disk.pread(512, ebr * 512)
        if len(sec) < 512 or sec[510:512] != b"\x55\xaa":
            break
        ptype, start, count = sec[0x1BE + 4], *struct.unpack_from("<II", sec, 0x1BE + 8)
        if ptype and count:
            parts[number] = ((ebr + start) * 512, count * 512)
            number += 1
        nxt_type, nxt = sec[0x1CE + 4], struct.unpack_from("<I", sec, 0x1CE + 8)[0]
        ebr = ext_base + nxt if nxt_type in _EXTENDED and nxt else None
    return parts
