"""`autoverify report` options and its one-sentence errors (the real CLI entry point, in process)."""

from __future__ import annotations

import json

from autoverify.cli.main import main
from tests.reports.conftest import write_config


def test_out_file_and_json(env, capsys):
    out = env.folder / "mine.html"
    assert main(["report", "--out", str(out), "--json", "--config", str(env.config)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reports"] == [{"partner": None, "html": str(out), "text": str(out.with_suffix(".txt")),
                               "subject": doc["reports"][0]["subject"]}] and doc["deliveries"] == []
    assert "NODE2" in out.read_text() and out.with_suffix(".txt").is_file()


def test_an_out_file_serves_one_report_per_partner(env, capsys):
    assert main(["report", "--out", str(env.folder / "r.html"), "--config", str(env.config)]) == 0
    write_config(env.folder, smtp='host = "127.0.0.1"\nport = 9\nsecurity = "none"\nretries = 0')
    assert main(["report", "--send", "--out", str(env.folder / "r.html"), "--config", str(env.config)]) == 3
    printed = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[1] for p in printed[2:]] == ["r-contoso-it.html", "r-contoso-it.txt",
                                                         "r-legacy-care.html", "r-legacy-care.txt"]


def test_an_unknown_partner_is_one_sentence_and_exit_2(env, capsys):
    assert main(["report", "--partner", "Fabrikam", "--config", str(env.config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Fabrikam" in err and "'Contoso IT'" in err and "Traceback" not in err


def test_send_without_partners_is_exit_2(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[store]\nroot = "s"\n[database]\npath = "av.db"\n')
    assert main(["report", "--send", "--config", str(cfg)]) == 2
    assert "[[partners]]" in capsys.readouterr().err


def test_two_reports_in_the_same_second_do_not_overwrite_each_other(env, capsys):
    from datetime import UTC, datetime

    from reports.render import render_report

    now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    first, second = (render_report(env.db(), env.cfg, now=now) for _ in range(2))
    assert first.path != second.path and first.path.is_file() and second.path.name.endswith("-2.html")
