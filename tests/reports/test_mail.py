"""Delivery through a real SMTP server on loopback (aiosmtpd): partners, TLS, auth, retries."""

from __future__ import annotations

import email
import email.policy
import logging

from autoverify.store import open_db
from reports.mail import SmtpSettings, build_message, queue, send_pending
from reports.render import render_report
from tests.reports.conftest import Inbox, SmtpServer, free_port, server_context, write_config

OWN = {"Contoso IT": {"NODE1", "NODE2", "NODE3"}, "Legacy Care": {"OLDNODE1"}}
RECIPIENTS = {"Contoso IT": ["noc@contoso.example", "cto@contoso.example"], "Legacy Care": ["ops@legacy.example"]}
SYSTEMS = {"NODE1", "NODE2", "NODE3", "OLDNODE1"}


def parse(raw: bytes) -> tuple[email.message.EmailMessage, str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert list(parts) == ["text/plain", "text/html"]
    return msg, parts["text/plain"], parts["text/html"]


def systems_in(text: str) -> set[str]:
    """The protected systems a report part has a section for."""
    return {s for s in SYSTEMS if f"SYSTEM {s}:" in text or f'<h2>{s} <span class="badge' in text}


def use_smtp(env, port: int, **keys) -> None:
    smtp = {"host": "127.0.0.1", "port": port, "security": "none", "retries": 1, "backoff_seconds": 0, **keys}
    write_config(env.folder, smtp="\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in smtp.items()))


def deliveries(env) -> list[dict]:
    return list(env.db().query("select * from deliveries order by id"))


def test_each_partner_gets_only_its_own_systems(env):
    inbox, port = Inbox(), free_port()
    use_smtp(env, port)
    with SmtpServer(port, inbox):
        proc = env.cli("report", "--send")
    assert proc.returncode == 0, proc.stderr
    assert len(inbox.messages) == 2
    for rcpt, raw in inbox.messages:
        msg, text, html = parse(raw)
        partner = msg["X-AutoVerify-Partner"]
        assert rcpt == RECIPIENTS[partner] and partner in msg["Subject"]
        assert systems_in(text) == OWN[partner] and systems_in(html) == OWN[partner]
    assert [(d["status"], d["attempts"]) for d in deliveries(env)] == [("sent", 1), ("sent", 1)]
    printed = proc.stdout.split()
    assert len(printed) == 4 and all(p.endswith((".html", ".txt")) for p in printed)


def test_server_down_exits_3_keeps_the_report_and_the_next_run_delivers_it(env):
    port = free_port()  # nothing listens there yet
    use_smtp(env, port)
    down = env.cli("report", "--send", "--partner", "Legacy Care")
    assert down.returncode == 3, down.stderr
    assert "stays at" in down.stderr and "Traceback" not in down.stderr
    (failed,) = deliveries(env)
    assert (failed["status"], failed["attempts"]) == ("failed", 2) and "refused" in failed["last_error"]
    kept = open(failed["report_path"], encoding="utf-8").read()

    inbox = Inbox()
    with SmtpServer(port, inbox):
        up = env.cli("report", "--send", "--partner", "Legacy Care")
    assert up.returncode == 0, up.stderr
    assert [(d["status"], d["attempts"]) for d in deliveries(env)] == [("sent", 3), ("sent", 1)]
    first_rcpt, first_raw = inbox.messages[0]  # the failed one goes out first
    _, _, html = parse(first_raw)
    assert html.replace("\r\n", "\n").strip() == kept.strip() and first_rcpt == ["ops@legacy.example"]
    assert len(inbox.messages) == 2


def _settings(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "port": port, "security": "none", "sender": "av@example.net",
                           "retries": 1, "backoff": 0, **kw})


def _authenticator(password: str, inbox: Inbox):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        inbox.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)
    return check


def test_starttls_with_a_password_from_the_environment(env, tls_files, caplog):
    db, secret, inbox, port = env.db(), "s3cret-Pa55", Inbox(), free_port()
    r = render_report(db, env.cfg)
    queue(db, "Contoso IT", RECIPIENTS["Contoso IT"], r.path, r.subject)
    settings = _settings(port, security="starttls", username="reporter", password=secret, ca_file=str(tls_files[0]))
    caplog.set_level(logging.DEBUG)
    with SmtpServer(port, inbox, tls_context=server_context(tls_files), require_starttls=True,
                    authenticator=_authenticator(secret, inbox), auth_require_tls=True):
        (d,) = send_pending(db, settings)
    assert d.status == "sent" and inbox.logins == [("reporter", True)] and len(inbox.messages) == 1
    stored = " ".join(str(v) for row in db.query("select * from deliveries") for v in row.values())
    assert secret not in stored and secret not in caplog.text and secret not in repr(settings)


def test_implicit_tls_and_a_refused_login_is_not_retried(env, tls_files):
    db, inbox, port = env.db(), Inbox(), free_port()
    r = render_report(db, env.cfg)
    queue(db, "Legacy Care", RECIPIENTS["Legacy Care"], r.path, r.subject)
    # aiosmtpd only counts STARTTLS as TLS, so it must be told AUTH is fine on an implicit-TLS port
    tls = {"ssl_context": server_context(tls_files), "authenticator": _authenticator("right", inbox),
           "auth_require_tls": False}
    with SmtpServer(port, inbox, **tls):
        (bad,) = send_pending(db, _settings(port, security="tls", username="u", password="wrong",
                                            ca_file=str(tls_files[0])))
        assert (bad.status, bad.attempts) == ("failed", 1) and "refused the login" in bad.error
        (good,) = send_pending(db, _settings(port, security="tls", username="u", password="right",
                                             ca_file=str(tls_files[0])))
    assert (good.status, good.attempts) == ("sent", 2) and len(inbox.messages) == 1


def test_a_missing_password_or_report_file_is_said_in_one_sentence(env):
    db = env.db()
    r = render_report(db, env.cfg)
    queue(db, "Contoso IT", ["noc@contoso.example"], r.path, r.subject)
    (d,) = send_pending(db, _settings(free_port(), username="u", password=None, password_env="AV_SMTP_PW"))
    assert d.status == "failed" and d.attempts == 1 and "AV_SMTP_PW" in d.error
    r.path.unlink()
    (d,) = send_pending(db, _settings(free_port()))
    assert d.status == "abandoned" and "no longer on disk" in d.error
    assert send_pending(db, _settings(free_port())) == []  # abandoned: not retried forever


def test_the_message_is_multipart_alternative_with_utf8_parts():
    msg = build_message("Ünïcode ✓", "text ✓", "<p>html ✓</p>", "av@example.net", ["a@b.example"], "P")
    _, text, html = parse(msg.as_bytes())
    assert text.strip() == "text ✓" and "html ✓" in html and msg["To"] == "a@b.example"
    assert open_db  # the store module imports cleanly alongside the mail module


def test_retries_back_off_exponentially(env):
    db, slept = env.db(), []
    r = render_report(db, env.cfg)
    queue(db, "Contoso IT", ["noc@contoso.example"], r.path, r.subject)
    (d,) = send_pending(db, _settings(free_port(), retries=3, backoff=1.5), sleep=slept.append)
    assert (d.status, d.attempts, slept) == ("failed", 4, [1.5, 3.0, 6.0])
    assert next(db.query("select attempts, last_error from deliveries"))["attempts"] == 4
