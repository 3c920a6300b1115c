"""A small WS-Management listener on 127.0.0.1 that the REAL pywinrm client talks to (basic auth, http).

It speaks enough of WinRS for `Session.run_ps`: Create (shell), Command, Receive (base64 stdout /
stderr streams, exit code), Signal (terminate) and Delete. The PowerShell script arrives as
`powershell -encodedcommand <base64 UTF-16LE>`; the listener replays the recorded output of the
script's first cmdlet from `payloads/<NODE>/<cmdlet>.json` (exit 0) or `<cmdlet>.err` (CLIXML
stderr, exit 1); an unknown cmdlet gets PowerShell's "not recognized" error. Wrong credentials
get HTTP 401 as from a real WinRM service.
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
      "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
      "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
CMDLET = re.compile(r"\b((?:Get|Set|Add|Move|Remove)-[A-Za-z]+)")
CHUNK = 1500  # bytes of stdout per Stream element, as WinRM splits long output


@dataclass
class Listener:
    """One fake node: its payload folder, the credentials it accepts, and what it was asked."""

    node: str
    payloads: Path
    user: str = "lab\\auditor"
    password: str = "s3cret"
    scripts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def start(self) -> Listener:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def replay(self, script: str) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr) of the recorded run of the script's first cmdlet."""
        self.scripts.append(script)
        m = CMDLET.search(script)
        name = m.group(1) if m else script.split()[0]
        out, err = self.payloads / self.node / f"{name}.json", self.payloads / self.node / f"{name}.err"
        if out.is_file():
            return 0, out.read_bytes(), b""
        if err.is_file():
            return 1, b"", err.read_bytes()
        return 1, b"", (f"#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/"
                        f"2004/04\"><S S=\"Error\">{name} : The term '{name}' is not recognized as the name of a "
                        "cmdlet._x000D__x000A_</S></Objs>").encode()


def _envelope(action: str, relates_to: str, body: str, header_extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" '
            f'xmlns:w="{NS["w"]}" xmlns:rsp="{NS["rsp"]}" xml:lang="en-US"><s:Header>'
            f'<a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>'
            f'<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>'
            f'<a:RelatesTo>{relates_to}</a:RelatesTo>{header_extra}</s:Header><s:Body>{body}</s:Body>'
            '</s:Envelope>').encode()


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    commands: dict[str, tuple[int, bytes, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet in tests
            pass

        def _send(self, status: int, payload: bytes = b"", extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            wanted = "Basic " + base64.b64encode(f"{listener.user}:{listener.password}".encode()).decode()
            if self.path != "/wsman":
                return self._send(404)
            if self.headers.get("Authorization") != wanted:
                return self._send(401, extra={"WWW-Authenticate": 'Basic realm="WSMAN"'})
            root = ET.fromstring(body)
            action = root.findtext("s:Header/a:Action", "", NS)
            msg_id = root.findtext("s:Header/a:MessageID", "", NS)
            listener.actions.append(action.rsplit("/", 1)[-1])
            answer = self.answer(root, action, msg_id)
            self._send(500 if b"<s:Fault>" in answer else 200, answer)

        def answer(self, root: ET.Element, action: str, msg_id: str) -> bytes:
            if action == f"{TRANSFER}/Create":
                shell = str(uuid.uuid4()).upper()
                body = (f'<x:ResourceCreated xmlns:x="{TRANSFER}"><a:Address>http://127.0.0.1/wsman</a:Address>'
                        '<a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/'
                        f'shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{shell}</w:Selector>'
                        f'</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell}'
                        '</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd'
                        '</rsp:ResourceUri><rsp:State>Connected</rsp:State></rsp:Shell>')
                return _envelope(f"{TRANSFER}/CreateResponse", msg_id, body)
            if action == f"{SHELL}/Command":
                line = root.findtext("s:Body/rsp:CommandLine/rsp:Command", "", NS)
                encoded = line.split("-encodedcommand", 1)[-1].strip()
                script = base64.b64decode(encoded).decode("utf-16-le")
                command_id = str(uuid.uuid4()).upper()
                commands[command_id] = listener.replay(script)
                return _envelope(f"{SHELL}/CommandResponse", msg_id,
                                 f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>")
            if action == f"{SHELL}/Receive":
                command_id = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS).get("CommandId")
                code, out, err = commands.pop(command_id, (1, b"", b"unknown command id"))
                streams = [f'<rsp:Stream Name="stdout" CommandId="{command_id}">'
                           f'{base64.b64encode(out[i:i + CHUNK]).decode()}</rsp:Stream>' for i in range(0, len(out), CHUNK)]
                if err:
                    streams.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}">'
                                   f'{base64.b64encode(err).decode()}</rsp:Stream>')
                streams += [f'<rsp:Stream Name="{s}" CommandId="{command_id}" End="true"></rsp:Stream>'
                            for s in ("stdout", "stderr")]
                state = (f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Done">'
                         f'<rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>')
                return _envelope(f"{SHELL}/ReceiveResponse", msg_id,
                                 f"<rsp:ReceiveResponse>{''.join(streams)}{state}</rsp:ReceiveResponse>")
            if action == f"{SHELL}/Signal":
                return _envelope(f"{SHELL}/SignalResponse", msg_id, "<rsp:SignalResponse/>")
            if action == f"{TRANSFER}/Delete":
                return _envelope(f"{TRANSFER}/DeleteResponse", msg_id, "")
            return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", msg_id,
                             f"<s:Fault><s:Reason><s:Text>unsupported action {escape(action)}</s:Text></s:Reason>"
                             "</s:Fault>")

    return Handler


def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
