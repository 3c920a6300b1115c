"""Hostile CSV and node names cannot inject commands into the generated PowerShell.

pwsh is not installable here, so the scripts are read by a tokenizer written for this test
from PowerShell's language rules (about_Quoting_Rules, about_Comments, about_Special_Characters):
statements end at a newline or `;`, `#` starts a comment, single-quoted strings expand nothing and
end at any of the five single-quote characters unless it is doubled, a backtick escapes the next
character, double-quoted strings expand `$(...)`. A script made from hostile names must parse to
exactly the statements made from plain names, with the hostile names as whole string values.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from driveletter_audit import powershell as ps
from driveletter_audit.inventory import CsvRef, LetterUse
from driveletter_audit.remediation import plan_remediation
from driveletter_audit.rules import ClusterView
from driveletter_audit.seeding import node_seeding
from tests.driveletter_audit.small import V1, node

QUOTES = ps.SINGLE_QUOTES


def tokenize(script: str) -> list[list[tuple[str, str]]]:
    """Statements of (kind, text) tokens; kind is 'word', 'str', 'op'. Rejects what we never write."""
    statements: list[list[tuple[str, str]]] = []
    cur: list[tuple[str, str]] = []
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if c in "\n;":
            if cur:
                statements.append(cur)
            cur = []
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#" or script.startswith("<#", i):
            raise AssertionError(f"a comment in a generated script: {script[i:i + 40]!r}")
        elif c in QUOTES:
            j, value = i + 1, []
            while True:
                if j >= n:
                    raise AssertionError("unterminated single-quoted string")
                if script[j] in QUOTES:
                    if j + 1 < n and script[j + 1] in QUOTES:
                        value.append(script[j])
                        j += 2
                        continue
                    break
                value.append(script[j])
                j += 1
            cur.append(("str", "".join(value)))
            i = j + 1
        elif c in '"\u201c\u201d\u201e':
            raise AssertionError("a double-quoted (expanding) string in a generated script")
        elif c == "`":
            raise AssertionError("a backtick escape outside a literal in a generated script")
        elif c in "|{}":
            cur.append(("op", c))
            i += 1
        else:
            j = i
            while j < n and script[j] not in " \t\r\n;|{}`" + QUOTES + '"':
                j += 1
            word = script[i:j]
            assert "$(" not in word and "@(" not in word, f"a subexpression outside a literal: {word!r}"
            cur.append(("word", word))
            i = j
    if cur:
        statements.append(cur)
    return statements


def shape(statements: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    return [[(k, t if k != "str" else "S") for k, t in s] for s in statements]


HOSTILE = [
    "Vol'; Remove-Item -Recurse C:\\ ; '",
    "$(Stop-Computer -Force)",
    "back`tick`; Restart-Computer",
    "typo\u2019; Stop-Service aristos; \u2018",
    "'' ; '",
    "<# block #> # line",
]


def _view(csv: CsvRef, node_name: str = "N1") -> ClusterView:
    """Two nodes giving `csv` different letters (L: on node_name, M: on N2): a change on N2."""
    nodes = (node(node_name, csvs=(csv,)), node("N2", csvs=(csv,)))
    return ClusterView("C1", tuple(replace(n, letters=(LetterUse(x, "csv", csv.name),))
                                   for n, x in zip(nodes, "LM", strict=True)))


def _csv(name: str, disk: str = "Cluster Disk 2", guid: str = V1.volume_guid) -> CsvRef:
    return CsvRef(name, "aaaa:135266304", guid, "aaaa", disk)


def _plan_for(csv_name: str, node_name: str) -> str:
    plan = plan_remediation(_view(_csv(csv_name, disk=csv_name), node_name))
    assert plan.unresolved == ()
    return "".join(plan.powershell().values())


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_string_values(name):
    plain = tokenize(_plan_for("Volume1", "N1"))
    hostile = tokenize(_plan_for(name, f"N1{name}"))
    assert shape(hostile) == shape(plain)
    values = {t for s in hostile for k, t in s if k == "str"}
    assert {name, f"N1{name}", f"{name} -> L:"} & values  # the hostile text is one whole value
    assert any(name in v for v in values)


def test_the_script_is_the_expected_commands():
    script = _plan_for("Volume1", "N1")
    assert tokenize(script) == [
        [("word", "Write-Output"), ("str", "Volume1 -> L:")],
        [("word", "Get-ClusterSharedVolume"), ("word", "-Name"), ("str", "Volume1"), ("op", "|"),
         ("word", "Move-ClusterSharedVolume"), ("word", "-Node"), ("str", "N2")],
        [("word", "Get-Partition"), ("op", "|"), ("word", "Where-Object"), ("op", "{"), ("word", "$_.Guid"),
         ("word", "-eq"), ("str", "{" + V1.volume_guid + "}"), ("op", "}"), ("op", "|"),
         ("word", "Set-Partition"), ("word", "-NewDriveLetter"), ("word", "L")],
    ]


@pytest.mark.parametrize("bad", ["Vol\nRemove-Item C:\\", "Vol\rX", "Vol\x00", "Vol\u2028X", "Vol\u202eX"])
def test_control_characters_are_refused_and_said(bad):
    plan = plan_remediation(_view(_csv(bad)))
    assert plan.changes == () and len(plan.unresolved) == 1
    assert "control character" in plan.unresolved[0] and "\n" not in plan.unresolved[0]
    assert plan.powershell() == {}


def test_a_guid_that_is_not_one_is_refused():
    plan = plan_remediation(_view(_csv("Volume1", guid="x' }; Stop-Computer; {'")))
    assert plan.changes == () and "not a volume GUID" in plan.unresolved[0]


def test_seeding_steps_quote_names():
    csv = _csv("$(evil)'x", disk="Cluster Disk 9'")
    s = node_seeding(node("N1", csvs=(csv,), held=((),)), (csv,))
    step = next(x for x in s.steps if x.startswith("move CSV"))
    cmd = step[step.index(" (Get-") + 2:-1]
    assert tokenize(cmd) == [[("word", "Get-ClusterSharedVolume"), ("word", "-Name"), ("str", "Cluster Disk 9'"),
                              ("op", "|"), ("word", "Move-ClusterSharedVolume"), ("word", "-Node"), ("str", "N1")]]


@pytest.mark.parametrize(("value", "want"), [("abc", "'abc'"), ("it's", "'it''s'"), ("\u2019", "'\u2019\u2019'"),
                                             ("$(x)`y", "'$(x)`y'")])
def test_literal(value, want):
    assert ps.literal(value) == want
