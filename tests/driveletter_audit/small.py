"""Small in-memory inventories for table-driven rule tests."""

from __future__ import annotations

from driveletter_audit.inventory import CsvRef, LetterUse, NodeInventory, SharedDiskRef, SnapshotRecord

V1 = CsvRef("Volume1", "aaaa:135266304", "11111111-0000-0000-0000-000000000001", "aaaa", "Cluster Disk 2")
V2 = CsvRef("Volume2", "bbbb:135266304", "11111111-0000-0000-0000-000000000002", "bbbb", "Cluster Disk 3")
SHARE = SharedDiskRef("Cluster Disk 1", "cccc", ("11111111-0000-0000-0000-000000000003",), "FileServer")
KINDS = {"Volume1": "csv", "Volume2": "csv", "Cluster Disk 1": "shared"}


def node(name: str, letters: dict[str, str] | None = None, *, csvs=(V1,), shared=(), enable: bool | None = True,
         version: str = "10.0", held: tuple[tuple[str, ...], ...] | None = (("Volume1", "Volume2"),),
         cluster: str = "C1") -> NodeInventory:
    """`letters`: letter -> volume name (a CSV, the shared disk, else a local volume)."""
    uses = tuple(LetterUse(x, KINDS.get(v, "local"), v) for x, v in sorted((letters or {}).items()))
    history = None if held is None else tuple(
        SnapshotRecord(f"{name}/2026-11-2{i}T0100", f"2026-11-2{i}T01:00:00+00:00", "Full" if i == 1 else "Incremental",
                       h) for i, h in enumerate(held, 1))
    return NodeInventory(name, cluster, "test", "Windows Server", version, "", enable, uses, tuple(csvs),
                         tuple(shared), history)
