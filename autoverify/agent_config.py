"""The backup agent's aristos.cfg: is CSV backup switched on (`ENABLE_CSV=true`)?

One reader for inspection (the file inside a snapshot) and the live audit (the file read
over WinRM), so both say the same about the same file. The vendor documents one form, the
line `ENABLE_CSV=true`, and nothing about variants; we accept that line with any case and
spaces or tabs around the key, the `=` and the value, and nothing else on it. When the key
is assigned more than once the last assignment counts. Any other value (`false`, `1`,
`yes`, `true # note`) counts as off: then the audit asks for the documented line, which is
harmless when the agent did accept the variant. See docs/design.md ("aristos.cfg").
"""

from __future__ import annotations

import codecs
import re

_ASSIGNMENT = re.compile(r"^[ \t]*ENABLE_CSV[ \t]*=(.*)$", re.IGNORECASE | re.MULTILINE)


def decode_config(data: bytes) -> str:
    """The file's text: UTF-16 when it has a UTF-16 byte-order mark (Notepad's "Unicode"), else UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def enable_csv(text: str | None) -> bool | None:
    """aristos.cfg content -> whether CSV backup is on; None when there is no file."""
    if text is None:
        return None
    values = _ASSIGNMENT.findall(text.removeprefix("\ufeff"))
    return bool(values) and values[-1].strip(" \t\r").lower() == "true"
