"""Open a registry hive file with hivex, turning every kind of bad file into one clear HiveError.

hivex accepts some damaged files and fails later, while walking; `Hive` wraps each access
so a truncated or garbage hive never surfaces as a bare RuntimeError or a traceback.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any

from autoverify.errors import AutoVerifyError

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11


class HiveError(AutoVerifyError):
    """A registry hive is missing, truncated or not a hive at all (names the file)."""


def _check_header(path: str) -> None:
    """Refuse what hivex would half-open: empty, not 'regf', or shorter than its header claims."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise HiveError(f"{path}: cannot read the registry hive ({exc.strerror}).") from None
    if size == 0:
        raise HiveError(f"{path}: the registry hive is an empty file.")
    if head[:4] != b"regf":
        raise HiveError(f"{path}: is not a registry hive (no 'regf' signature).")
    if len(head) < 4096:
        raise HiveError(f"{path}: the registry hive is truncated ({size} bytes, shorter than its header).")
    data_size = struct.unpack_from("<I", head, 40)[0]
    if 4096 + data_size > size:
        raise HiveError(f"{path}: the registry hive is truncated ({size} bytes; its header says "
                        f"{4096 + data_size}).")


@dataclass(frozen=True)
class Hive:
    """A read-only hive; every method raises HiveError (naming the file) on damage."""

    path: str
    handle: Any

    def _fail(self, exc: Exception, what: str) -> HiveError:
        return HiveError(f"{self.path}: the registry hive is corrupt ({what}: {exc}).")

    def node(self, *names: str, start: int | None = None) -> int | None:
        """The key at (root or start)\\names[0]\\..., or None when absent (case-insensitive)."""
        try:
            node = self.handle.root() if start is None else start
            for name in names:
                node = self.handle.node_get_child(node, name)
                if node is None:
                    return None
            return node
        except RuntimeError as exc:
            raise self._fail(exc, "reading " + "\\".join(names)) from None

    def children(self, node: int) -> list[tuple[str, int]]:
        try:
            return [(self.handle.node_name(c), c) for c in self.handle.node_children(node)]
        except RuntimeError as exc:
            raise self._fail(exc, "listing subkeys") from None

    def values(self, node: int) -> dict[str, tuple[int, bytes]]:
        """Value name -> (type, raw data); names as stored (case kept)."""
        try:
            out = {}
            for v in self.handle.node_values(node):
                out[self.handle.value_key(v)] = self.handle.value_value(v)
            return out
        except RuntimeError as exc:
            raise self._fail(exc, "reading values") from None

    def value(self, node: int | None, name: str) -> tuple[int, bytes] | None:
        if node is None:
            return None
        lowered = name.lower()
        return next((tv for k, tv in self.values(node).items() if k.lower() == lowered), None)

    def string(self, node: int | None, name: str) -> str | None:
        tv = self.value(node, name)
        if tv is None:
            return None
        kind, data = tv
        if kind in (REG_DWORD, REG_QWORD):
            return str(_int(data))
        if kind == REG_MULTI_SZ:
            return "\n".join(multi_sz(data))
        return data.decode("utf-16-le", errors="replace").split("\x00", 1)[0]

    def dword(self, node: int | None, name: str) -> int | None:
        tv = self.value(node, name)
        if tv is None:
            return None
        kind, data = tv
        if kind in (REG_DWORD, REG_QWORD, REG_BINARY) and len(data) in (4, 8):
            return _int(data)
        try:
            return int(self.string(node, name) or "", 0)
        except ValueError:
            return None

    def strings(self, node: int | None, name: str) -> list[str]:
        tv = self.value(node, name)
        return multi_sz(tv[1]) if tv else []


def _int(data: bytes) -> int:
    return int.from_bytes(data[:8] if len(data) >= 8 else data[:4], "little")


def multi_sz(data: bytes) -> list[str]:
    return [s for s in data.decode("utf-16-le", errors="replace").split("\x00") if s]


def open_hive(path: str | os.PathLike) -> Hive:
    """Open `path` read-only; HiveError (one sentence naming the file) if it is not a sound hive."""
    import hivex

    path = os.fspath(path)
    if not os.path.exists(path):
        raise HiveError(f"{path}: the registry hive does not exist.")
    _check_header(path)
    class _Handle(hivex.Hivex):  # type: ignore[misc]
        """hivex's __del__ closes `_o` even when opening failed and `_o` was never set: Python then
        prints an 'Exception ignored' traceback after our one sentence."""

        def __del__(self) -> None:
            if hasattr(self, "_o"):
                super().__del__()

    try:
        handle = _Handle(path)
        handle.root()
    except RuntimeError as exc:
        raise HiveError(f"{path}: the registry hive is corrupt ({exc}).") from None
    return Hive(path, handle)


def current_control_set(system: Hive) -> int | None:
    """SYSTEM\\Select\\Current -> ControlSet00N (falls back to ControlSet001)."""
    number = system.dword(system.node("Select"), "Current") or 1
    return system.node(f"ControlSet{number:03d}") or system.node("ControlSet001")


def hostname(system: Hive) -> str:
    """Tcpip Hostname, else ComputerName (domain.md §2)."""
    ccs = current_control_set(system)
    if ccs is None:
        return ""
    for names, value in ((("Services", "Tcpip", "Parameters"), "Hostname"),
                         (("Control", "ComputerName", "ComputerName"), "ComputerName")):
        name = system.string(system.node(*names, start=ccs), value)
        if name:
            return name
    return ""
