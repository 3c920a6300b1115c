"""Load and validate config.toml: every error is one sentence naming the file and the key.

The schema below is the configuration reference (the README mirrors it). Secrets are
never values here: only the names of environment variables that hold them.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoverify.errors import ConfigError

log = logging.getLogger(__name__)
DEFAULT_PATHS = (Path("config.toml"), Path("/etc/autoverify/config.toml"))


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any = None
    required: bool = False
    choices: tuple = ()
    kind: str = ""  # "path" (resolved against the config's folder), "cron", "env" (an env var name)


SCHEMA: dict[str, dict[str, Key]] = {
    "store": {
        "root": Key(str, required=True, kind="path"),  # folder of snapshots: ROOT/<system>/<snapshot>/
        "layout": Key(str, "system/snapshot", choices=("system/snapshot",)),
    },
    "database": {
        "path": Key(str, required=True, kind="path"),
    },
    "guestfs": {
        "accel": Key(str, "auto", choices=("auto", "kvm", "tcg")),
        "batch_size": Key(int, 8),  # disks per appliance launch
        "launch_timeout": Key(int, 300),  # seconds
        "snapshot_timeout": Key(int, 600),  # seconds per snapshot
        "memsize": Key(int, 1024),  # MiB for the appliance
    },
    "verify": {
        "check_unlettered": Key(bool, True),  # also check NTFS volumes without a letter (the vendor skips them)
        "check_unlettered_csvs": Key(bool, None),  # deprecated: read as check_unlettered when that is absent
        "reader": Key(str, "nbd", choices=("nbd", "appliance")),
        "max_snapshots": Key(int, 0),  # 0 = no limit per run
    },
    "schedule": {
        "verify": Key(str, "0 1 * * *", kind="cron"),
        "report": Key(str, "0 7 * * *", kind="cron"),
        "audit": Key(str, "0 6 * * 1", kind="cron"),
        "misfire_grace_time": Key(int, 3600),
        "timezone": Key(str, "UTC"),
    },
    "reports": {
        "out_dir": Key(str, "var/reports", kind="path"),
        "history_days": Key(int, 30),
        "title": Key(str, "AutoVerify health report"),
    },
    "smtp": {
        "host": Key(str, "localhost"),
        "port": Key(int, 25),
        "security": Key(str, "starttls", choices=("starttls", "tls", "none")),
        "username": Key(str, ""),
        "password_env": Key(str, "", kind="env"),
        "sender": Key(str, "autoverify@localhost"),
        "timeout": Key(int, 30),
        "retries": Key(int, 3),
        "backoff_seconds": Key(float | int, 2.0),  # type: ignore[arg-type]
        "ca_file": Key(str, "", kind="path"),
    },
}

ARRAYS: dict[str, dict[str, Key]] = {
    "partners": {
        "name": Key(str, required=True),
        "emails": Key(list, required=True),
        "clusters": Key(list, []),
        "systems": Key(list, []),
    },
    "clusters": {
        "name": Key(str, required=True),
        "nodes": Key(list, required=True),  # node names
        "winrm_transport": Key(str, "ntlm", choices=("ntlm", "kerberos", "basic", "credssp")),
        "winrm_scheme": Key(str, "https", choices=("https", "http")),
        "winrm_port": Key(int, 5986),
        "winrm_verify_tls": Key(bool, True),
        "winrm_username_env": Key(str, "", kind="env"),
        "winrm_password_env": Key(str, "", kind="env"),
        "winrm_endpoints": Key(dict, {}),  # node name -> "host[:port]" (default: the node name)
    },
}


@dataclass(frozen=True)
class Config:
    path: Path
    data: dict[str, Any]

    def __getitem__(self, section: str) -> Any:
        return self.data[section]

    def secret(self, section: str, key: str) -> str | None:
        """The value of the environment variable named by `section.key` (never stored)."""
        name = self.data[section].get(key) or ""
        return os.environ.get(name) if name else None


def find_config(explicit: str | os.PathLike | None) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found.")
        return path
    for path in DEFAULT_PATHS:
        if path.is_file():
            return path
    raise ConfigError("No configuration file: pass --config PATH, or create ./config.toml or /etc/autoverify/config.toml.")


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    path = find_config(explicit)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML ({exc}).") from None
    return Config(path=path, data=validate(raw, path))


def validate(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    base = path.resolve().parent
    out: dict[str, Any] = {}
    for name in raw:
        if name not in SCHEMA and name not in ARRAYS:
            raise ConfigError(f"{path}: unknown section or key '{name}'.")
    for section, keys in SCHEMA.items():
        value = raw.get(section, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: '{section}' must be a table ([{section}]).")
        out[section] = _table(value, keys, section, path, base)
    for section, keys in ARRAYS.items():
        value = raw.get(section, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{path}: '{section}' must be an array of tables ([[{section}]]).")
        out[section] = [_table(v, keys, f"{section}[{i}]", path, base) for i, v in enumerate(value)]
    _deprecated(raw, out, path)
    _cross_checks(out, path)
    return out


def _deprecated(raw: dict[str, Any], out: dict[str, Any], path: Path) -> None:
    """verify.check_unlettered_csvs (before every unlettered volume was checked) still counts, with a warning."""
    verify = out["verify"]
    old = verify.pop("check_unlettered_csvs")
    if old is None:
        return
    given = "check_unlettered" in raw.get("verify", {})
    log.warning("%s: key 'verify.check_unlettered_csvs' is deprecated: use 'verify.check_unlettered'%s.", path,
                " (which is also set, and wins)" if given else f" (read as check_unlettered = {str(old).lower()})")
    if not given:
        verify["check_unlettered"] = old


def _table(value: dict, keys: dict[str, Key], where: str, path: Path, base: Path) -> dict[str, Any]:
    for name in value:
        if name not in keys:
            raise ConfigError(f"{path}: unknown key '{where}.{name}'.")
    out = {}
    for name, key in keys.items():
        dotted = f"{where}.{name}"
        if name not in value:
            if key.required:
                raise ConfigError(f"{path}: missing required key '{dotted}'.")
            out[name] = key.default
            continue
        v = value[name]
        if not _type_ok(v, key.type):
            raise ConfigError(f"{path}: key '{dotted}' must be {_type_name(key.type)}, not {type(v).__name__}.")
        if key.choices and v not in key.choices:
            raise ConfigError(f"{path}: key '{dotted}' must be one of {', '.join(map(repr, key.choices))}, not {v!r}.")
        if key.kind == "cron":
            _check_cron(v, dotted, path)
        if key.kind == "env" and v and not v.replace("_", "").isalnum():
            raise ConfigError(f"{path}: key '{dotted}' must name an environment variable (letters, digits, _).")
        if key.kind == "path" and v:
            v = str((base / v).resolve()) if not os.path.isabs(v) else v
        if isinstance(v, int) and not isinstance(v, bool) and v < 0:
            raise ConfigError(f"{path}: key '{dotted}' must not be negative.")
        out[name] = v
    return out


def _type_ok(v: Any, t: type | tuple[type, ...]) -> bool:
    types = t.__args__ if hasattr(t, "__args__") else (t if isinstance(t, tuple) else (t,))
    if isinstance(v, bool) and bool not in types:
        return False
    return isinstance(v, types)


def _type_name(t: Any) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "an array", dict: "a table",
             float: "a number"}
    types = t.__args__ if hasattr(t, "__args__") else (t if isinstance(t, tuple) else (t,))
    return " or ".join(names.get(x, x.__name__) for x in types)


def _check_cron(expr: str, dotted: str, path: Path) -> None:
    from autoverify.cron import cron_trigger

    if len(expr.split()) not in (5, 6):
        raise ConfigError(f"{path}: key '{dotted}' is not a cron expression of 5 fields (or 6 with seconds first): {expr!r}.")
    try:
        cron_trigger(expr, "UTC")
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{path}: key '{dotted}' is not a valid cron expression ({exc}).") from None


def _cross_checks(out: dict[str, Any], path: Path) -> None:
    if out["guestfs"]["batch_size"] < 1:
        raise ConfigError(f"{path}: key 'guestfs.batch_size' must be at least 1.")
    names = [c["name"] for c in out["clusters"]]
    for i, partner in enumerate(out["partners"]):
        for j, email in enumerate(partner["emails"]):
            if not isinstance(email, str) or "@" not in email:
                raise ConfigError(f"{path}: key 'partners[{i}].emails[{j}]' is not an e-mail address.")
        for c in partner["clusters"]:
            if c not in names:
                raise ConfigError(f"{path}: key 'partners[{i}].clusters' names cluster {c!r}, which no [[clusters]] defines.")
    for i, cluster in enumerate(out["clusters"]):
        if not cluster["nodes"] or not all(isinstance(n, str) for n in cluster["nodes"]):
            raise ConfigError(f"{path}: key 'clusters[{i}].nodes' must be a non-empty array of node names.")
