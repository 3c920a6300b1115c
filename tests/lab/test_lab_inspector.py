"""libguestfs's own virt-inspector (not our code) sees Windows, the host name and the manifest's letters.

CI checks two nodes' newest snapshots (each run launches its own appliance); set
AUTOVERIFY_LAB_INSPECT_ALL=1 to check all four.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.lab.conftest import newest

pytestmark = pytest.mark.appliance
NODES = ["NODE1", "NODE2", "NODE3", "OLDNODE1"] if os.environ.get("AUTOVERIFY_LAB_INSPECT_ALL") else ["NODE1", "NODE2"]


def expected_letters(snap: dict) -> dict[str, str]:
    """Letter -> guestfs device of the volumes this snapshot holds."""
    return {letter: f"/dev/sd{chr(ord('a') + v['disk'])}{v['partition_number']}"
            for v in snap["volumes"] for letter in v["drive_letters"]}


@pytest.mark.parametrize("node", NODES)
def test_virt_inspector(lab_dir, manifest, lab_images, node):
    snap = newest(manifest, node)
    cmd = ["virt-inspector", "--no-icon", "--format=qcow2"]
    for disk in snap["disks"]:
        cmd += ["-a", str(lab_dir / disk)]
    env = dict(os.environ, LIBGUESTFS_BACKEND_SETTINGS="force_tcg")  # the CLI tool has no KVM->TCG fallback
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    systems = ET.fromstring(done.stdout).findall("operatingsystem")
    assert len(systems) == 1
    os_ = systems[0]
    assert os_.findtext("name") == "windows"
    assert os_.findtext("hostname") == node
    assert os_.findtext("product_name") == snap["os"]["product_name"]
    assert f"{os_.findtext('major_version')}.{os_.findtext('minor_version')}" == snap["os"]["version"]
    mappings = {m.get("name"): m.text for m in os_.iter("drive_mapping")}
    assert mappings == expected_letters(snap)
