"""Small hives for tests, written with hivex on top of the lab's empty-hive writer (no binary fixtures)."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from autoverify.lab.regf import write_empty_hive

REG_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ = 1, 3, 4, 7


def sz(text: str) -> tuple[int, bytes]:
    return REG_SZ, (text + "\0").encode("utf-16-le")


def dword(n: int) -> tuple[int, bytes]:
    return REG_DWORD, struct.pack("<I", n)


def binary(data: bytes) -> tuple[int, bytes]:
    return REG_BINARY, data


def multi_sz(items: list[str]) -> tuple[int, bytes]:
    return REG_MULTI_SZ, ("\0".join(items) + "\0\0").encode("utf-16-le")


def gpt_value(partition_guid: str) -> tuple[int, bytes]:
    return binary(b"DMIO:ID:" + uuid.UUID(partition_guid).bytes_le)


def mbr_value(signature: int, offset: int) -> tuple[int, bytes]:
    return binary(struct.pack("<IQ", signature, offset))


def device_value(path: str) -> tuple[int, bytes]:
    return binary(path.encode("utf-16-le"))


def write_hive(path: Path, tree: dict, root: str = "ROOT") -> Path:
    """`tree`: {"Key": {"Sub": {...}, "Value": (type, bytes)}}; dict = subkey, tuple = value."""
    import hivex

    write_empty_hive(path, root)
    h = hivex.Hivex(str(path), write=True)

    def fill(node: int, spec: dict) -> None:
        values = [{"key": k, "t": v[0], "value": v[1]} for k, v in spec.items() if isinstance(v, tuple)]
        if values:
            h.node_set_values(node, values)
        for k, v in spec.items():
            if isinstance(v, dict):
                fill(h.node_add_child(node, k), v)

    fill(h.root(), tree)
    h.commit(str(path))
    return path


def volume_info(entries: list[tuple[int, int, int, int, str]]) -> tuple[int, bytes]:
    """DiskVolumeInfo: [(offset, length, partition number, letter mask, volume GUID)]."""
    body = b"".join(struct.pack("<QQII16s", o, n, p, m, uuid.UUID(g).bytes_le) for o, n, p, m, g in entries)
    return binary(struct.pack("<II", len(entries), 0) + body)
