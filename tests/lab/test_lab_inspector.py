"""libguestfs's own virt-inspector (not our code) sees Windows, the host name and the manifest's letters.

Each run launches its own appliance (minutes under TCG on a loaded host), so CI checks the
newest snapshot of NODE1 (S:, L:) and NODE2 (M: Data disk, Volume2 without letter);
AUTOVERIFY_LAB_INSPECT_ALL=1 checks all four nodes.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.lab.conftest import newest

pytestmark = pytest.mark.appliance
NODES = ["NODE1", "NODE2", "NODE3", "OLDNODE1"] if os.environ.get("AUTOVERIFY_LAB_INSPECT_ALL") else ["NODE1", "NODE2"]


def virt_inspector(images: list[Path]) -> dict[str, ET.Element]:
    """Run virt-inspector under TCG (the CLI has no KVM->TCG fallback); returns OS elements by host name."""
    cmd = ["virt-inspector", "--no-icon", "--format=qcow2"]
    for image in images:
        cmd += ["-a", str(image)]
    env = dict(os.environ, LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return {o.findtext("hostname"): o for o in ET.fromstring(done.stdout).findall("operatingsystem")}


def expected_letters(manifest: dict, snap: dict) -> dict[str, str]:
    """Letter -> guestfs device for the node's letters (MountedDevices truth) whose volume this snapshot holds."""
    device_of = {v["volume_guid"]: f"/dev/sd{chr(ord('a') + v['disk'])}{v['partition_number']}"
                 for v in snap["volumes"]}
    letters = {letter: v["volume_guid"] for v in snap["volumes"] for letter in v["drive_letters"]}
    cluster = next(c for c in manifest["clusters"] if snap["node"] in c["nodes"])
    for vol in cluster["csvs"] + cluster["shared_disks"]:
        letters.update({letter: vol["volume_guid"] for letter in vol["letters_by_node"].get(snap["node"], [])})
    return {letter: device_of[guid] for letter, guid in letters.items() if guid in device_of}


def check_os(os_: ET.Element, snap: dict, letters: dict[str, str]) -> None:
    assert os_.findtext("name") == "windows"
    assert os_.findtext("product_name") == snap["os"]["product_name"]
    assert f"{os_.findtext('major_version')}.{os_.findtext('minor_version')}" == snap["os"]["version"]
    assert {m.get("name"): m.text for m in os_.iter("drive_mapping")} == letters


@pytest.mark.parametrize("node", NODES)
def test_virt_inspector_newest_snapshot(lab_dir, manifest, lab_images, node):
    snap = newest(manifest, node)
    found = virt_inspector([lab_dir / d for d in snap["disks"]])
    assert list(found) == [node]
    letters = expected_letters(manifest, snap)
    assert letters["C"] == "/dev/sda3"
    check_os(found[node], snap, letters)
