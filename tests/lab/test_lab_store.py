"""The store on disk: layout, snapshot.json, qcow2 chains, size, and the manifest's own consistency."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from autoverify.cli.main import main
from autoverify.lab import build_lab
from autoverify.lab.builder import BUILDER_VERSION
from autoverify.lab.disks import LabError
from autoverify.lab.manifest import manifest as make_manifest


def _info(path: Path) -> dict:
    out = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def test_twelve_snapshots_as_designed(manifest):
    snaps = manifest["snapshots"]
    assert len(snaps) == 12
    held = {s["id"]: s["csvs"] for s in snaps}
    assert held["NODE1/2026-11-21T0100"] == ["Volume1", "Volume2"]
    assert held["NODE2/2026-11-22T0100"] == ["Volume1", "Volume2"]
    assert held["NODE1/2026-11-23T0100"] == ["Volume1"] and held["NODE2/2026-11-23T0100"] == ["Volume2"]
    assert not any(held[f"NODE3/{d}"] for d in ("2026-11-21T0100", "2026-11-22T0100", "2026-11-23T0100"))
    assert all("Cluster Disk 1" in s["shared_disks"] for s in snaps if s["node"] == "NODE1")
    assert [s["type"] for s in snaps if s["node"] == "NODE2"] == ["Full", "Incremental", "Incremental"]
    assert {(f["rule"], f["node"], f["volume"]) for c in manifest["clusters"] for f in c["expected_findings"]} >= {
        ("letter-collision", "NODE2", "Volume1"), ("legacy-2008r2-csv", "OLDNODE1", "Volume1")}
    seeding = manifest["clusters"][0]["seeding"]
    assert seeding["NODE3"] == {"ready": False, "base_snapshots": [], "missing": ["Volume1", "Volume2"]}
    assert seeding["NODE2"]["base_snapshots"][0] == "NODE2/2026-11-22T0100"


def test_manifest_is_deterministic(manifest):
    """The manifest is a function of the scenario: regenerating it gives the stored one."""
    assert make_manifest(BUILDER_VERSION, manifest["corrupted"]) == manifest


def test_store_layout_and_chains(lab_dir, manifest):
    """Full = standalone qcow2; Incremental disks back onto the node's previous copy of the same disk."""
    last: dict[tuple[str, str], Path] = {}
    for snap in manifest["snapshots"]:
        folder = lab_dir / "store" / snap["id"]
        meta = json.loads((folder / "snapshot.json").read_text())
        assert meta == {"time": snap["time"], "type": snap["type"], "cluster": snap["cluster"],
                        "disks": [Path(d).name for d in snap["disks"]]}
        for rel, name in zip(snap["disks"], snap["disk_names"], strict=True):
            info = _info(lab_dir / rel)
            assert info["format"] == "qcow2"
            previous = last.get((snap["node"], name))
            if previous is None:
                assert "backing-filename" not in info, rel
            else:
                assert info["backing-filename-format"] == "qcow2"
                assert not info["backing-filename"].startswith("/")
                assert (lab_dir / rel).parent.joinpath(info["backing-filename"]).resolve() == previous.resolve()
            last[(snap["node"], name)] = lab_dir / rel
        if snap["type"] == "Full":
            assert all("backing-filename" not in _info(lab_dir / d) for d in snap["disks"])


def test_lab_is_small(lab_dir):
    used = int(subprocess.run(["du", "-sb", "--apparent-size", str(lab_dir)], capture_output=True, text=True,
                              check=True).stdout.split()[0])
    real = int(subprocess.run(["du", "-sk", str(lab_dir)], capture_output=True, text=True,
                              check=True).stdout.split()[0]) * 1024
    assert real < 300 * 1024 * 1024, real
    assert used < 300 * 1024 * 1024, used  # qcow2 files are small even when copied without sparseness


def test_complete_lab_is_not_rebuilt(lab_dir, capsys):
    started = time.monotonic()
    assert build_lab(lab_dir) == lab_dir / "manifest.json"
    assert time.monotonic() - started < 2
    assert main(["lab", "build", str(lab_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["snapshots"] == 12 and out["corrupted"] == ["NODE2/2026-11-22T0100"]


def test_refuses_a_folder_that_is_not_a_lab(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(LabError, match="not empty"):
        build_lab(tmp_path)
    assert main(["lab", "build", str(tmp_path)]) == 3
    assert "not empty" in capsys.readouterr().err and (tmp_path / "precious.txt").exists()
    assert main(["lab", "build", str(tmp_path / "precious.txt")]) == 3
    assert "is a file, not a folder" in capsys.readouterr().err
