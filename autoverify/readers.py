"""Byte-range readers over a volume inside a disk image, for checks that parse raw structures.

A raw image is read directly (a local file plus an offset: no copy, no appliance). Any other
format or a backing chain goes through `qemu-nbd --read-only` on a private Unix socket, read
with libnbd's Python binding: never the host kernel's /dev/nbd, never a write, and the
qemu-nbd process is always terminated on exit.
"""

from __future__ import annotations

import os
import shutil
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
                            stderr=subprocess.PIPE)
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
