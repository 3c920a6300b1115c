#!/usr/bin/env bash
# The main job on the built-in sample cluster: build the lab store, verify every snapshot,
# audit drive letters (and seeding readiness), render the partners' reports.
# Exit codes 1 (findings) are expected: the lab is built to contain problems.
set -uo pipefail
cd "$(dirname "$0")/.."
AV=".venv/bin/autoverify"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { "$@"; rc=$?; if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "demo: '$*' failed with exit $rc" >&2; exit $rc; fi; }

step "1/6 Build the sample cluster lab (3-node CSVNodes + LEGACY 2008 R2) into var/lab"
run $AV lab build var/lab
step "2/6 Verify every new snapshot: inspect offline, chkdsk-equivalent on every NTFS volume (lettered, CSVs, unlettered)"
run $AV --config config.toml verify
step "3/6 Inspect one snapshot by hand (the newest of NODE1)"
newest=$(ls -d var/lab/store/NODE1/*/ | sort | tail -1)
run $AV inspect "$newest"*.qcow2
step "4/6 Audit drive letters across each cluster"
run $AV --config config.toml audit-letters
step "5/6 Seeding readiness (run before USB seeding)"
run $AV --config config.toml audit-letters --before-seeding
step "6/6 Render the HTML health report, then e-mail each partner its own (to a local mail sink)"
run $AV --config config.toml report
.venv/bin/python -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox var/mail 2>var/mail-sink.log &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
sleep 2
run $AV --config config.toml report --send
echo "demo: $(ls var/mail/new | wc -l) message(s) delivered to the local sink var/mail/new (one per partner and run)"
step "Extra: a data disk without Windows (GPT, two NTFS partitions, no drive letters) is checked too"
rm -rf var/datadisk && mkdir -p var/datadisk
printf '[store]\nroot = "store"\n[database]\npath = "av.db"\n' > var/datadisk/config.toml
.venv/bin/python tools/datadisk_store.py var/datadisk/store --corrupt >/dev/null || exit 1
run $AV --config var/datadisk/config.toml verify
.venv/bin/python - <<'PY'
import sqlite3
db = sqlite3.connect("var/datadisk/av.db")
for row in db.execute("select check_id, severity, volume, path, message from findings order by id"):
    print("demo: %-30s %-7s %-9s %s  %s" % tuple("" if x is None else x for x in row))
PY
step "Every finding id above, with what to do about it (the registry; also docs/findings.md)"
run $AV findings --list
echo
echo "demo: done. Database: var/autoverify.db (open with sqlite3 or Datasette); reports: var/reports/"
