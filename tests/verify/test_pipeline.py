"""The verify pipeline's own logic over a real SQLite store, with the stages replaced by small fakes.

The real stages (libguestfs inspection, the NTFS checker) are exercised over the lab in
test_lab.py; here: which volumes get checked, what is stored, once-only, stop, selection.
The fakes replace each stage's function at its own module (discovery.discover,
inspection.inspect_snapshots, readers.open_reader, checks.ntfs.check_ntfs).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from autoverify import discovery, inspection, readers
from autoverify.checks import ntfs
from autoverify.cli.verify_cmd import progress_printer
from autoverify.config import Config, validate
from autoverify.errors import AlreadyRunning
from autoverify.models import CheckResult, DiskImage, Finding, Inspection, Snapshot, Volume
from autoverify.store import open_db
from autoverify.verify import Selection, UnknownSnapshot, check_plan, run_lock, run_verify

ROOT = Path(__file__).resolve().parents[2]


def make_cfg(tmp_path: Path, **verify) -> Config:
    (tmp_path / "store").mkdir(exist_ok=True)
    raw = {"store": {"root": "store"}, "database": {"path": "av.db"}, "verify": verify}
    path = tmp_path / "config.toml"
    return Config(path=path, data=validate(raw, path))


def snapshots(n: int = 3) -> list[Snapshot]:
    return [Snapshot(id=f"NODE{i % 2 + 1}/2026-11-2{i}T0100", system=f"NODE{i % 2 + 1}",
                     taken_at=f"2026-11-2{i}T01:00:00+00:00", kind="Full", cluster="CSVNodes",
                     disks=(DiskImage(f"/s/{i}/disk0.qcow2", "qcow2", 1 << 30),
                            DiskImage(f"/s/{i}/disk1.qcow2", "qcow2", 1 << 30)))
            for i in range(1, n + 1)]


def vol(device: str, offset: int, fs: str = "ntfs", letters: tuple = (), **kw) -> Volume:
    return Volume(disk_index=kw.pop("disk_index", 0), device=device, partition_number=1, offset=offset,
                  size=1 << 20, filesystem=fs, label="", volume_guid=None, drive_letters=letters, **kw)


VOLUMES = (
    vol("/dev/sda1", 1 << 20, fs="vfat"),  # EFI: not NTFS
    vol("/dev/sda2", 2 << 20),  # recovery: NTFS, no letter, not a CSV
    vol("/dev/sda3", 3 << 20, letters=("C",)),
    vol("/dev/sdb2", 135266304, disk_index=1, csv_id="e62f:135266304", csv_name="Volume2"),  # unlettered CSV
    vol("/dev/sdb3", 5 << 20, disk_index=1, letters=("E",), encrypted=True),  # BitLocker
)
CORRUPT_OFFSET = 3 << 20


class Fakes:
    """Records what the pipeline asked of each stage."""

    def __init__(self, snaps: list[Snapshot], corrupt: set[str] = frozenset(), fail: dict[str, str] | None = None):
        self.snaps, self.corrupt, self.fail = snaps, corrupt, fail or {}
        self.inspected: list[str] = []
        self.reads: list[tuple[str, int]] = []
        self.on_inspect = None

    def install(self, monkeypatch) -> Fakes:
        """Put the fakes in place of the real stages; a test may swap one of them (e.g. self.inspect) later."""
        monkeypatch.setattr(discovery, "discover", lambda root: list(self.snaps))
        monkeypatch.setattr(inspection, "inspect_snapshots", lambda *a, **k: self.inspect(*a, **k))
        monkeypatch.setattr(readers, "open_reader", lambda *a, **k: self.open_reader(*a, **k))
        monkeypatch.setattr(ntfs, "check_ntfs", lambda reader: self.check(reader))
        return self

    def inspect(self, snaps, settings, batch_size=8, snapshot_timeout=600):
        for s in snaps:
            self.inspected.append(s.id)
            if self.on_inspect:
                self.on_inspect(s)
            errors = (Finding(self.fail[s.id], "error", f"{s.id}: {self.fail[s.id]}", snapshot_id=s.id),) \
                if s.id in self.fail else ()
            yield Inspection(snapshot_id=s.id, os=None, volumes=VOLUMES, errors=errors)

    @contextmanager
    def open_reader(self, disk, offset=0, size=None):
        self.reads.append((disk.path, offset))
        yield (disk.path, offset)

    def check(self, reader) -> CheckResult:
        path, offset = reader
        if offset == CORRUPT_OFFSET and any(f"/{c}/" in path for c in self.corrupt):
            return CheckResult("errors", (Finding("ntfs.mft-bitmap", "error", "MFT bitmap mismatch", record=5),))
        return CheckResult("clean", mft_records=64)


def test_plan_checks_every_ntfs_volume():
    plans = {v.device: check_plan(v, True) for v in VOLUMES}
    assert plans == {"/dev/sda1": "not NTFS (vfat)", "/dev/sda2": None, "/dev/sda3": None, "/dev/sdb2": None,
                     "/dev/sdb3": None}
    off = {v.device: check_plan(v, False) for v in VOLUMES}
    assert off["/dev/sda3"] is None and off["/dev/sdb3"] is None
    assert "verify.check_unlettered is off" in off["/dev/sda2"] and "verify.check_unlettered is off" in off["/dev/sdb2"]


def test_old_config_key_still_read(tmp_path, caplog):
    assert make_cfg(tmp_path)["verify"]["check_unlettered"] is True
    cfg = make_cfg(tmp_path, check_unlettered_csvs=False)
    assert cfg["verify"]["check_unlettered"] is False and "check_unlettered_csvs" not in cfg["verify"]
    assert "'verify.check_unlettered_csvs' is deprecated: use 'verify.check_unlettered'" in caplog.text
    assert make_cfg(tmp_path, check_unlettered_csvs=False, check_unlettered=True)["verify"]["check_unlettered"]


def test_run_stores_checks_skips_and_findings(tmp_path, monkeypatch):
    cfg, fakes = make_cfg(tmp_path), Fakes(snapshots(), corrupt={"2"}).install(monkeypatch)
    summary = run_verify(cfg)
    assert summary.outcome == "findings" and summary.verified == 3 and summary.left == 0
    assert summary.statuses == {"NODE2/2026-11-21T0100": "warning", "NODE1/2026-11-22T0100": "failed",
                                "NODE2/2026-11-23T0100": "warning"}  # warning: the BitLocker volume
    # C:, the unlettered recovery volume and CSV are read at their own offsets; BitLocker is not read
    assert sorted(fakes.reads)[:3] == [("/s/1/disk0.qcow2", 2 << 20), ("/s/1/disk0.qcow2", CORRUPT_OFFSET),
                                       ("/s/1/disk1.qcow2", 135266304)]
    assert len(fakes.reads) == 9
    db = open_db(cfg["database"]["path"])
    rows = {r["device"]: r for r in db.query("select * from volumes where snapshot_id = 'NODE1/2026-11-22T0100'")}
    assert {d: r["check_status"] for d, r in rows.items()} == {
        "/dev/sda1": "skipped", "/dev/sda2": "clean", "/dev/sda3": "errors", "/dev/sdb2": "clean",
        "/dev/sdb3": "unchecked"}
    findings = {(f["check_id"], f["severity"], f["volume"], f["disk"]) for f in
                db.query("select * from findings where snapshot_id = 'NODE1/2026-11-22T0100'")}
    assert findings == {
        ("ntfs.mft-bitmap", "error", "C:", "/s/2/disk0.qcow2"),
        ("verify.unlettered-csv-checked", "info", "Volume2", "/s/2/disk1.qcow2"),
        ("verify.unlettered-checked", "info", "/dev/sda2", "/s/2/disk0.qcow2"),
        ("ntfs.bitlocker", "warning", "E:", "/s/2/disk1.qcow2")}
    run = db["runs"].get(summary.run_id)
    assert run["kind"] == "verify" and run["outcome"] == "findings" and run["ended_at"]
    assert json.loads(run["counts"])["verified"] == 3


def test_each_snapshot_verified_once_and_new_ones_picked_up(tmp_path, monkeypatch):
    cfg, snaps = make_cfg(tmp_path), snapshots(3)
    fakes = Fakes(snaps[:2]).install(monkeypatch)
    run_verify(cfg)
    fakes.snaps = snaps  # a third snapshot arrives in the store
    second = run_verify(cfg)
    assert fakes.inspected == [s.id for s in snaps]  # each inspected exactly once
    assert second.new == 1 and second.verified == 1
    third = run_verify(cfg)
    assert third.selected == 0 and third.outcome == "ok" and len(fakes.inspected) == 3


def test_selection_all_system_snapshot_and_unknown_names(tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path)
    Fakes(snapshots(3)).install(monkeypatch)
    run_verify(cfg)
    assert run_verify(cfg, Selection(all=True)).verified == 3
    assert run_verify(cfg, Selection(all=True, system="NODE1")).verified == 1
    assert list(run_verify(cfg, Selection(snapshot="NODE2/2026-11-23T0100")).statuses) \
        == ["NODE2/2026-11-23T0100"]
    with pytest.raises(UnknownSnapshot, match="'NODE9/x' is not in the store"):
        run_verify(cfg, Selection(snapshot="NODE9/x"))
    with pytest.raises(UnknownSnapshot, match="system 'NODE9'"):
        run_verify(cfg, Selection(system="NODE9"))


def test_max_snapshots_limits_a_run(tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path, max_snapshots=2)
    Fakes(snapshots(3)).install(monkeypatch)
    first = run_verify(cfg)
    assert first.verified == 2 and run_verify(cfg).verified == 1


def test_stop_finishes_the_current_snapshot_and_leaves_the_rest_pending(tmp_path, monkeypatch):
    cfg, fakes = make_cfg(tmp_path), Fakes(snapshots(3)).install(monkeypatch)
    stop = threading.Event()
    fakes.on_inspect = lambda s: stop.set()  # the signal arrives while the first one is inspected
    summary = run_verify(cfg, stop=stop)
    assert summary.outcome == "stopped" and summary.verified == 1 and summary.left == 2
    db = open_db(cfg["database"]["path"])
    assert [r["id"] for r in db.query("select id from snapshots where verified_at is not null")] \
        == ["NODE2/2026-11-21T0100"]
    fakes.on_inspect = None
    assert run_verify(cfg).verified == 2


def test_stop_abandons_a_snapshot_whose_inspection_was_cut(tmp_path, monkeypatch):
    cfg, snaps = make_cfg(tmp_path), snapshots(2)
    fakes = Fakes(snaps, fail={snaps[0].id: "inspect.timeout"}).install(monkeypatch)
    stop = threading.Event()
    fakes.on_inspect = lambda s: stop.set()
    summary = run_verify(cfg, stop=stop)
    assert summary.verified == 0 and summary.outcome == "stopped"
    db = open_db(cfg["database"]["path"])
    assert db.execute("select count(*) from findings").fetchone()[0] == 0


def test_unreadable_volume_becomes_a_finding_not_a_traceback(tmp_path, monkeypatch):
    cfg, fakes = make_cfg(tmp_path), Fakes(snapshots(1)).install(monkeypatch)

    @contextmanager
    def broken(disk, offset=0, size=None):
        raise OSError(5, "Input/output error")
        yield

    fakes.open_reader = broken
    summary = run_verify(cfg)
    assert summary.statuses == {"NODE2/2026-11-21T0100": "failed"}
    db = open_db(cfg["database"]["path"])
    msgs = [r["message"] for r in db.query("select message from findings where check_id = 'check.unreadable'")]
    assert msgs and "C: could not be read from /s/1/disk0.qcow2 (Input/output error)." in msgs


def test_a_second_verify_run_on_the_same_database_is_refused(tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path)
    with run_lock(cfg["database"]["path"]):
        with pytest.raises(AlreadyRunning, match="a verify run .* is already in progress"):
            Fakes(snapshots(1)).install(monkeypatch)
            run_verify(cfg)


def test_appliance_failure_leaves_the_snapshot_pending_and_fails_the_run(tmp_path, monkeypatch):
    cfg, snaps = make_cfg(tmp_path), snapshots(2)
    fakes = Fakes(snaps, fail={snaps[0].id: "inspect.appliance"}).install(monkeypatch)
    summary = run_verify(cfg)
    assert summary.outcome == "failed" and summary.verified == 1 and "inspect.appliance" in summary.message
    fakes.fail = {}
    assert list(run_verify(cfg).statuses) == [snaps[0].id]


def test_bitlocker_is_said_once_when_inspection_already_said_it(tmp_path, monkeypatch):
    cfg, snaps = make_cfg(tmp_path), snapshots(1)
    fakes = Fakes(snaps).install(monkeypatch)
    told = Finding("ntfs.bitlocker", "warning", "E: is BitLocker", snapshot_id=snaps[0].id,
                   disk=snaps[0].disks[1].path)
    inner = fakes.inspect
    fakes.inspect = lambda *a, **k: (replace(i, errors=(told,)) for i in inner(*a, **k))
    run_verify(cfg)
    db = open_db(cfg["database"]["path"])
    assert [r["check_id"] for r in db.query("select check_id from findings where check_id like '%bitlocker'")] \
        == ["ntfs.bitlocker"]


def test_progress_bar_on_a_terminal_and_log_lines_otherwise(caplog):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    show = progress_printer(tty)
    show(1, 4, "NODE1/a", "healthy")
    show(4, 4, "NODE2/b", "failed")
    assert tty.getvalue() == ("\r[#######.......................] 1/4 NODE1/a: healthy\033[K"
                              "\r[##############################] 4/4 NODE2/b: failed\033[K\n")
    with caplog.at_level("INFO"):
        progress_printer(io.StringIO())(2, 4, "NODE1/a", "warning")
    assert "[2/4] NODE1/a: warning" in caplog.text


@pytest.mark.parametrize("args, code, sentence", [
    (["--snapshot", "NODE9/x"], 2, "autoverify: snapshot 'NODE9/x' is not in the store (ids look like SYSTEM/FOLDER)."),
    ([], 0, None),  # an empty store: nothing to verify, all healthy
])
def test_cli_exit_codes_and_one_sentence_errors(tmp_path, args, code, sentence):
    cfg = make_cfg(tmp_path)
    cfg.path.write_text('[store]\nroot = "store"\n[database]\npath = "av.db"\n')
    r = subprocess.run([sys.executable, "-m", "autoverify", "verify", "--config", str(cfg.path), *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == code, r.stderr
    if sentence:
        assert r.stderr.strip() == sentence
    else:
        assert "verify run 1 ok: 0 of 0 snapshot(s) verified" in r.stderr


def test_cli_missing_store_is_exit_3_naming_it(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[store]\nroot = "nowhere"\n[database]\npath = "av.db"\n')
    r = subprocess.run([sys.executable, "-m", "autoverify", "verify", "--config", str(path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert r.stderr.strip() == f"autoverify: {tmp_path / 'nowhere'}: the snapshot store (store.root) is not a folder."
