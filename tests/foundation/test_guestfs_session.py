"""The guestfs session helper: launches through its own KVM→TCG fallback and never leaves qemu behind.

No test here sets LIBGUESTFS_BACKEND_SETTINGS: the product must find TCG by itself.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from autoverify import guestfs_session as gs
from autoverify.errors import ApplianceError

pytestmark = pytest.mark.appliance


def qemu_children() -> list[int]:
    return gs._qemu_children()


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    subprocess.run(["truncate", "-s", "32M", str(path)], check=True)
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_launch_through_own_fallback(disk, monkeypatch, caplog):
    assert "LIBGUESTFS_BACKEND_SETTINGS" not in os.environ
    monkeypatch.setitem(gs._state, "kvm_failed", False)
    before = digest(disk)
    with gs.appliance([gs.Drive(str(disk), "raw")], gs.Settings(accel="auto")) as g:
        assert g.list_devices() == ["/dev/sda"]
        mode = g.autoverify_accel
        g.pwrite_device("/dev/sda", b"written in the appliance", 0)  # lands in a throw-away overlay
    if not gs.kvm_usable():
        assert mode == "tcg"
    elif mode == "tcg":  # KVM present but QEMU refused it: the fallback was taken and remembered
        assert "falling back to TCG" in caplog.text
        assert gs.accel_in_use() == "tcg"
    assert digest(disk) == before
    assert qemu_children() == []


def test_no_qemu_left_after_exception(disk):
    with pytest.raises(ZeroDivisionError):
        with gs.appliance([gs.Drive(str(disk), "raw")]) as g:
            assert g.get_pid() in qemu_children()
            1 / 0  # noqa: B018
    assert qemu_children() == []


def test_failed_launch_is_clear_and_leaves_nothing(disk):
    # a raw file opened as qcow2: qemu refuses to start
    with pytest.raises(ApplianceError) as err:
        with gs.appliance([gs.Drive(str(disk), "qcow2")]):
            pass
    assert "appliance" in str(err.value) and str(disk) in str(err.value)
    assert qemu_children() == []


def test_plan_respects_policy(monkeypatch):
    monkeypatch.setitem(gs._state, "kvm_failed", False)
    monkeypatch.setattr(gs, "kvm_usable", lambda: True)
    assert gs._plan("auto") == ["kvm", "tcg"] and gs._plan("tcg") == ["tcg"] and gs._plan("kvm") == ["kvm"]
    monkeypatch.setitem(gs._state, "kvm_failed", True)
    assert gs._plan("auto") == ["tcg"]
    monkeypatch.setattr(gs, "kvm_usable", lambda: False)
    monkeypatch.setitem(gs._state, "kvm_failed", False)
    assert gs._plan("auto") == ["tcg"]
