"""MountedDevices decoding: the real corpus hives, hives we write, and bad hive files (never a traceback)."""

from __future__ import annotations

import json
import lzma
import struct
import uuid
from pathlib import Path

import hivegen as hg
import pytest

from autoverify.cli.main import main
from autoverify.registry import HiveError, decode_mounted_devices
from autoverify.registry.mounted_devices import decode_value, value_name

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hives"  # a copy of the reference corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    assert sorted(p.name for p in CORPUS.glob("*.xz")) == ["win10_gpt_SYSTEM.xz", "win7_mbr_SYSTEM.xz"]
    out = tmp_path_factory.mktemp("hives")
    hives = {}
    for xz in CORPUS.glob("*.xz"):
        hives[xz.stem] = out / xz.stem
        hives[xz.stem].write_bytes(lzma.decompress(xz.read_bytes()))
    return hives


def letters_cli(path: Path, capsys) -> tuple[int, dict]:
    rc = main(["letters", "--system-hive", str(path), "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_win7_mbr_corpus_hive(corpus, capsys):
    rc, doc = letters_cli(corpus["win7_mbr_SYSTEM"], capsys)
    assert rc == 0
    assert doc["letters"]["C"] == {"kind": "mbr", "disk_signature": "0x5cbea03e", "offset": 1048576}
    assert doc["letters"]["A"]["kind"] == "device" and "FDC#GENERIC_FLOPPY" in doc["letters"]["A"]["device"]
    assert doc["letters"]["D"]["kind"] == "device" and "IDE#CdRom" in doc["letters"]["D"]["device"]
    assert doc["letters"]["E"]["kind"] == "device" and "USBSTOR#Disk" in doc["letters"]["E"]["device"]
    assert set(doc["letters"]) == {"A", "C", "D", "E"}
    assert doc["volumes"]["{656b1715-ecf6-11df-92e6-806e6f6e6963}"] == doc["letters"]["C"]
    assert all(k.startswith("{") and k.endswith("}") and k == k.lower() for k in doc["volumes"])


def test_win10_gpt_corpus_hive(corpus, capsys):
    rc, doc = letters_cli(corpus["win10_gpt_SYSTEM"], capsys)
    assert rc == 0
    assert doc["letters"]["C"] == {"kind": "gpt", "partition_guid": "09931f21-7faf-44a9-81d8-1e73c14b9eaf"}
    assert "USBSTOR#Disk" in doc["letters"]["D"]["device"]
    assert "SCSI#CdRom" in doc["letters"]["E"]["device"]
    assert len(doc["volumes"]) >= 3


def test_text_output_names_each_letter(corpus, capsys):
    assert main(["letters", "--system-hive", str(corpus["win7_mbr_SYSTEM"])]) == 0
    out = capsys.readouterr().out
    assert "C:" in out and "MBR disk signature 0x5cbea03e, offset 1048576" in out


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("\\DosDevices\\C:", struct.pack("<IQ", 0x5CBEA03E, 1048576),
     dict(name="C", kind="mbr", disk_signature="0x5cbea03e", offset=1048576)),
    ("\\??\\Volume{ABCDEF01-2345-6789-ABCD-EF0123456789}", b"DMIO:ID:" + uuid.UUID(int=7).bytes_le,
     dict(name="{abcdef01-2345-6789-abcd-ef0123456789}", kind="gpt", partition_guid=str(uuid.UUID(int=7)))),
    ("\\DosDevices\\E:", "\\??\\SCSI#CdRom&Ven_X".encode("utf-16-le"),
     dict(name="E", kind="device", device="\\??\\SCSI#CdRom&Ven_X")),
    ("#{1234}", b"\x01\x02\x03", dict(name="#{1234}", kind="unknown")),
])
def test_decode_value(name, data, expected):
    a = decode_value(name, data)
    assert {k: getattr(a, k) for k in expected} == expected


def test_value_name_keeps_unknown_names():
    assert value_name("\\DosDevices\\c:") == "C"
    assert value_name("\\DosDevices\\COM1") == "\\DosDevices\\COM1"


def test_written_hive_round_trip(tmp_path):
    guid = "09931f21-7faf-44a9-81d8-1e73c14b9eaf"
    p = hg.write_hive(tmp_path / "SYSTEM", {"Select": {"Current": hg.dword(1)}, "MountedDevices": {
        "\\DosDevices\\C:": hg.gpt_value(guid), "\\DosDevices\\F:": hg.mbr_value(0x1234ABCD, 32256),
        f"\\??\\Volume{{{guid}}}": hg.gpt_value(guid)}})
    got = {a.name: a for a in decode_mounted_devices(p)}
    assert got["C"].partition_guid == guid and got["{" + guid + "}"].kind == "gpt"
    assert (got["F"].disk_signature, got["F"].offset) == ("0x1234abcd", 32256)


def test_system_hive_without_mounted_devices_is_empty(tmp_path):
    p = hg.write_hive(tmp_path / "SYSTEM", {"Select": {"Current": hg.dword(1)}})
    assert decode_mounted_devices(p) == ()


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(bytes(range(256)) * 40), "not a registry hive"),
    (lambda p: p.write_bytes(hg.write_hive(p, {"MountedDevices": {"\\DosDevices\\C:": hg.gpt_value(str(uuid.UUID(int=1)))}})
                             .read_bytes()[:5000]), "truncated"),
    (lambda p: None, "does not exist"),
])
def test_bad_hives_are_one_sentence(tmp_path, capsys, make, words):
    p = tmp_path / "SYSTEM"
    make(p)
    with pytest.raises(HiveError, match=words):
        decode_mounted_devices(p)
    assert main(["letters", "--system-hive", str(p)]) == 3
    err = capsys.readouterr().err
    assert str(p) in err and words in err and "Traceback" not in err and err.count("\n") == 1


def test_hive_that_is_not_system(tmp_path):
    p = hg.write_hive(tmp_path / "SOFTWARE", {"Microsoft": {}})
    with pytest.raises(HiveError, match="not a SYSTEM hive"):
        decode_mounted_devices(p)


@pytest.mark.parametrize(("field", "at", "data"), [("first hbin signature", 0x1000, b"XXXX"),
                                                    ("root key offset", 0x24, b"\xff\xff\xff\x7f")])
def test_hive_hivex_cannot_open_is_one_line_on_stderr(tmp_path, field, at, data):
    """A hive whose header is sound but that hivex refuses: only our sentence on stderr, exit 3 (python3-hivex's
    own __del__ would add an 'Exception ignored ... no attribute _o' traceback)."""
    import subprocess
    import sys

    good = hg.write_hive(tmp_path / "SYSTEM", {"Select": {"Current": hg.dword(1)}}).read_bytes()
    bad = tmp_path / "BROKEN"
    bad.write_bytes(good[:at] + data + good[at + len(data):])
    run = subprocess.run([sys.executable, "-m", "autoverify", "letters", "--system-hive", str(bad)],
                         capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 3, field
    assert run.stderr == f"autoverify: {bad}: the registry hive is corrupt ({run.stderr.split('(', 1)[1]}"
    assert run.stderr.count("\n") == 1 and "Exception ignored" not in run.stderr and "Traceback" not in run.stderr
