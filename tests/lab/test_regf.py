"""The empty-hive writer: its output opens in hivex and regipy and takes keys and values."""

from __future__ import annotations

import struct

import hivex
import pytest
from regipy.registry import RegistryHive

from autoverify.lab.hives import REG_BINARY, dword, multi_sz, sz, write_hive
from autoverify.lab.regf import empty_hive, write_empty_hive


def test_header_checksum_and_sizes():
    data = empty_hive("ROOT")
    assert len(data) == 8192 and data[:4] == b"regf" and data[4096:4100] == b"hbin"
    checksum = 0
    for (dword_,) in struct.iter_unpack("<I", data[:0x1FC]):
        checksum ^= dword_
    assert struct.unpack_from("<I", data, 0x1FC)[0] == checksum


def test_empty_hive_opens_in_both_parsers(tmp_path):
    path = write_empty_hive(tmp_path / "EMPTY", "CLUSTER")
    h = hivex.Hivex(str(path))
    assert h.node_name(h.root()) == "CLUSTER" and h.node_children(h.root()) == []
    assert list(RegistryHive(str(path)).root.iter_subkeys()) == []


def test_written_keys_read_back_identically(tmp_path):
    keys = {"": {"ClusterName": sz("X")},
            "A\\B": {"Text": sz("héllo"), "Num": dword(7), "Multi": multi_sz(["1", "2"]),
                     "Bin": (REG_BINARY, bytes(range(40)))},
            "A\\C": {}}
    path = write_hive(tmp_path / "H", keys)
    h = hivex.Hivex(str(path))
    b = h.node_get_child(h.node_get_child(h.root(), "A"), "B")
    assert h.value_string(h.node_get_value(b, "Text")) == "héllo"
    assert h.value_dword(h.node_get_value(b, "Num")) == 7
    assert [s for s in h.value_multiple_strings(h.node_get_value(b, "Multi")) if s] == ["1", "2"]
    reg = RegistryHive(str(path))
    values = {v.name: v.value for v in reg.get_key("\\A\\B").iter_values()}
    assert values["Text"] == "héllo" and values["Num"] == 7 and values["Multi"] == ["1", "2"]
    assert bytes.fromhex(values["Bin"]) == bytes(range(40))
    assert [k.name for k in reg.get_key("\\A").iter_subkeys()] == ["B", "C"]


def test_same_input_same_bytes(tmp_path):
    assert empty_hive() == empty_hive()
    with pytest.raises(UnicodeEncodeError):
        empty_hive("RÖÖT")


def test_node_hives_are_byte_identical(tmp_path):
    """Same scenario, same hive bytes: the lab is deterministic down to its registry files."""
    from autoverify.lab.hives import write_node_hives
    from autoverify.lab.scenario import CSVNODES

    node = CSVNODES.nodes[1]
    a = write_node_hives(tmp_path / "a", CSVNODES, node)
    b = write_node_hives(tmp_path / "b", CSVNODES, node)
    assert all(a[name].read_bytes() == b[name].read_bytes() for name in ("SYSTEM", "SOFTWARE", "CLUSDB"))
