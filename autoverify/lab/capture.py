"""Turn a disk's current state into a snapshot image: a Full qcow2, or an overlay holding only what changed.

The appliance keeps one raw image per (node, disk) open for the whole build; after each
day the host captures it (qemu-img with force-share reads, the guest having synced).
An incremental is a qcow2 overlay on the node's previous image of that disk, into which
only the 64 KiB clusters that differ from the previous capture are written (libnbd over a
socket-activated qemu-nbd: our own image, no kernel nbd device).
"""

from __future__ import annotations

from pathlib import Path

from autoverify.lab.disks import run

CLUSTER = 64 * 1024
BLOCK = 1 << 20


def changed_clusters(old: Path, new: Path) -> list[tuple[int, bytes]]:
    """(offset, data) of every 64 KiB cluster of `new` that differs from `old` (same size)."""
    out = []
    with open(old, "rb") as fo, open(new, "rb") as fn:
        pos = 0
        while block := fn.read(BLOCK):
            before = fo.read(len(block))
            if block != before:
                for i in range(0, len(block), CLUSTER):
                    if block[i:i + CLUSTER] != before[i:i + CLUSTER]:
                        out.append((pos + i, block[i:i + CLUSTER]))
            pos += len(block)
    return out


def write_clusters(image: Path, chunks: list[tuple[int, bytes]]) -> None:
    """Write `chunks` into the qcow2 `image` through qemu-nbd and libnbd."""
    import nbd

    h = nbd.NBD()
    h.connect_systemd_socket_activation(["qemu-nbd", "-f", "qcow2", str(image)])
    try:
        for offset, data in chunks:
            h.pwrite(data, offset)
        h.flush()
    finally:
        h.shutdown()


def sparse_copy(src: Path, dst: Path) -> None:
    run(["cp", "--sparse=always", str(src), str(dst)])


def capture_full(state: Path, image: Path, memo: Path) -> None:
    """A Full image of `state`; `memo` keeps a copy to diff the next capture against."""
    run(["qemu-img", "convert", "-U", "-q", "-f", "raw", "-O", "qcow2", str(state), str(image)])
    sparse_copy(state, memo)


def capture_incremental(state: Path, image: Path, memo: Path, previous: Path) -> int:
    """An overlay on `previous` holding the clusters changed since `memo`; returns how many."""
    import os

    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
         "-b", os.path.relpath(previous, image.parent), str(image)])
    chunks = changed_clusters(memo, state)
    if chunks:
        write_clusters(image, chunks)
        with open(memo, "r+b") as fh:
            for offset, data in chunks:
                fh.seek(offset)
                fh.write(data)
    return len(chunks)
