"""The one way into libguestfs: read-only drives, KVM→TCG fallback, launch timeout, no leftover qemu.

Every module that needs an appliance calls `appliance(drives)`. With accel "auto" it
tries KVM when /dev/kvm is usable; if QEMU will not start under KVM (seen on hosts where
it aborts with "failed to set MSR 0x10a") it relaunches under TCG and remembers that
for the rest of the process, so later launches go straight to TCG.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from autoverify.errors import ApplianceError

log = logging.getLogger(__name__)

_state = {"kvm_failed": False}  # per process: once KVM failed, use TCG


@dataclass(frozen=True)
class Drive:
    path: str
    format: str | None = None  # None: let qemu probe (only for images we made ourselves)
    readonly: bool = True
    label: str | None = None


@dataclass(frozen=True)
class Settings:
    accel: str = "auto"  # "auto" | "kvm" | "tcg"
    launch_timeout: int = 300
    memsize: int = 1024
    network: bool = False

    @classmethod
    def from_config(cls, cfg) -> Settings:
        g = cfg["guestfs"]
        return cls(accel=g["accel"], launch_timeout=g["launch_timeout"], memsize=g["memsize"])


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def _plan(accel: str) -> list[str]:
    if accel == "tcg":
        return ["tcg"]
    if accel == "kvm":
        return ["kvm"]
    if _state["kvm_failed"] or not kvm_usable():
        return ["tcg"]
    return ["kvm", "tcg"]


def _qemu_children() -> list[int]:
    """PIDs of qemu processes whose parent is this process (the appliance being launched)."""
    me, pids = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
            comm = stat[stat.index("(") + 1: stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == me and "qemu" in comm:
            pids.append(int(entry))
    return pids


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _new_handle(drives: Sequence[Drive], mode: str, settings: Settings):
    import guestfs

    g = guestfs.GuestFS(python_return_dict=True)
    g.set_backend("direct")
    g.set_memsize(settings.memsize)
    g.set_pgroup(True)  # Ctrl-C on a terminal must reach us, not kill qemu under our feet
    if mode == "tcg":
        g.set_backend_settings(["force_tcg"])
    for d in drives:
        opts = {"readonly": d.readonly}
        if d.format:
            opts["format"] = d.format
        if d.label:
            opts["label"] = d.label
        g.add_drive_opts(d.path, **opts)
    return g


def _launch(g, timeout: int) -> None:
    """Launch with a watchdog: past `timeout` seconds the qemu child is killed and launch fails."""
    done = threading.Event()
    fired = threading.Event()

    def watchdog() -> None:
        if not done.wait(timeout):
            fired.set()
            _kill(_qemu_children())

    t = threading.Thread(target=watchdog, daemon=True)
    t.start()
    try:
        g.launch()
    except RuntimeError as exc:
        if fired.is_set():
            raise ApplianceError(f"the libguestfs appliance did not start within {timeout} s.") from exc
        raise
    finally:
        done.set()


def close(g) -> None:
    """Shut the appliance down; if that fails, kill its qemu. Never raises."""
    pid = None
    try:
        pid = g.get_pid()
    except Exception:  # noqa: BLE001 - not launched
        pass
    try:
        g.shutdown()
    except Exception:  # noqa: BLE001 - appliance died; make sure qemu is gone
        if pid:
            _kill([pid])
    try:
        g.close()
    except Exception:  # noqa: BLE001
        pass
    if pid and _alive(pid):
        _kill([pid])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def launch(drives: Sequence[Drive], settings: Settings = Settings()):
    """Return a launched handle (caller must `close` it). Prefer the `appliance` context manager."""
    errors = []
    for mode in _plan(settings.accel):
        try:
            g = _new_handle(drives, mode, settings)
        except RuntimeError as exc:  # a drive qemu-img cannot open: no accelerator will help
            names = ", ".join(d.path for d in drives)
            raise ApplianceError(f"the libguestfs appliance cannot open {names} ({_last_line(exc)}).") from None
        try:
            _launch(g, settings.launch_timeout)
        except (RuntimeError, ApplianceError) as exc:
            close(g)
            errors.append(f"{mode}: {_last_line(exc)}")
            if mode == "kvm" and settings.accel == "auto":
                _state["kvm_failed"] = True
                log.warning("QEMU did not start under KVM (%s); falling back to TCG for this process.",
                            _last_line(exc))
                continue
            break
        log.debug("appliance launched under %s with %d drive(s)", mode, len(drives))
        g.autoverify_accel = mode  # type: ignore[attr-defined]
        return g
    raise ApplianceError("the libguestfs appliance failed to start (" + "; ".join(errors)[:500] + ").")


def _last_line(exc: BaseException) -> str:
    """libguestfs errors end with boilerplate; the first line says what went wrong."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else exc.__class__.__name__


def accel_in_use() -> str:
    """What the next 'auto' launch will use: 'kvm' or 'tcg'."""
    return _plan("auto")[0]


@contextmanager
def appliance(drives: Sequence[Drive], settings: Settings = Settings()) -> Iterator:
    """A launched, read-only appliance over `drives`, always shut down on exit."""
    g = launch(drives, settings)
    try:
        yield g
    finally:
        close(g)
