"""config.toml validation: every broken case is exit 2 and one sentence naming the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoverify.config import load_config
from autoverify.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
[store]
root = "store"
[database]
path = "av.db"
[[partners]]
name = "P"
emails = ["a@example.net"]
clusters = ["C1"]
[[clusters]]
name = "C1"
nodes = ["N1", "N2"]
"""

BROKEN = [
    # (name, toml, key that the sentence must name)
    ("unknown key", GOOD + '\n[guestfs]\nbogus = 1\n', "guestfs.bogus"),
    ("unknown section", GOOD + '\n[nonsense]\nx = 1\n', "nonsense"),
    ("wrong type", GOOD.replace('[database]\npath = "av.db"', '[database]\npath = 42'), "database.path"),
    ("wrong bool type", GOOD + '\n[verify]\ncheck_unlettered_csvs = "yes"\n', "verify.check_unlettered_csvs"),
    ("missing required", GOOD.replace('[store]\nroot = "store"', '[store]'), "store.root"),
    ("missing in array", GOOD.replace('name = "P"\n', ''), "partners[0].name"),
    ("bad cron", GOOD + '\n[schedule]\nverify = "61 25 * * *"\n', "schedule.verify"),
    ("cron field count", GOOD + '\n[schedule]\nreport = "every night"\n', "schedule.report"),
    ("bad choice", GOOD + '\n[guestfs]\naccel = "turbo"\n', "guestfs.accel"),
    ("bad email", GOOD.replace('"a@example.net"', '"nobody"'), "partners[0].emails[0]"),
    ("unknown cluster", GOOD.replace('clusters = ["C1"]', 'clusters = ["C9"]'), "partners[0].clusters"),
    ("secret in file", GOOD + '\n[smtp]\npassword = "hunter2"\n', "smtp.password"),
    ("env name", GOOD + '\n[smtp]\npassword_env = "not a var!"\n', "smtp.password_env"),
    ("not toml", "[store\nroot=", "not valid TOML"),
]


def test_good_config_defaults_and_paths(tmp_path):
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(GOOD)
    cfg = load_config(cfg_file)
    assert cfg["store"]["root"] == str(tmp_path / "store")  # relative to the config file
    assert cfg["guestfs"]["accel"] == "auto" and cfg["guestfs"]["batch_size"] == 8
    assert cfg["schedule"]["verify"] == "0 1 * * *"
    assert cfg["clusters"][0]["winrm_scheme"] == "https" and cfg["clusters"][0]["winrm_verify_tls"] is True


def test_crontab_sunday_as_7_is_valid(tmp_path):
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(GOOD + '\n[schedule]\naudit = "0 6 * * 7"\nverify = "*/30 0 1 * * *"\n')
    assert load_config(cfg_file)["schedule"]["audit"] == "0 6 * * 7"


def test_sample_config_is_valid():
    cfg = load_config(ROOT / "config.toml")
    assert [c["name"] for c in cfg["clusters"]] == ["CSVNodes", "LEGACY"]


def test_secret_comes_from_environment(tmp_path, monkeypatch):
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(GOOD + '\n[smtp]\npassword_env = "AV_TEST_PW"\n')
    monkeypatch.setenv("AV_TEST_PW", "s3cret")
    assert load_config(cfg_file).secret("smtp", "password_env") == "s3cret"


@pytest.mark.parametrize("name,text,key", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_names_file_and_key(tmp_path, name, text, key):
    cfg_file = tmp_path / "broken.toml"
    cfg_file.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file)
    assert str(cfg_file) in str(err.value) and key in str(err.value)


@pytest.mark.parametrize("name,text,key", BROKEN[:4] + BROKEN[6:7], ids=[b[0] for b in BROKEN[:4] + BROKEN[6:7]])
def test_cli_broken_config_exit_2_one_sentence(tmp_path, name, text, key):
    cfg_file = tmp_path / "broken.toml"
    cfg_file.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "autoverify", "--config", str(cfg_file), "verify"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cfg_file) in lines[0] and key in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_missing_config_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autoverify", "--config", str(tmp_path / "nope.toml"), "report"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "nope.toml" in proc.stderr and "not found" in proc.stderr
