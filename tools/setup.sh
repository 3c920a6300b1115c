#!/usr/bin/env bash
# One idempotent set-up step: Debian packages, then a venv from Debian's python3 that can
# import guestfs, hivex and nbd (they exist only as Debian packages), with pinned PyPI deps.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(libguestfs-tools python3-guestfs linux-image-amd64 ntfs-3g qemu-utils qemu-system-x86
  libhivex-bin python3-hivex python3-libnbd python3-venv python3-pip chromium gdisk dosfstools
  gcc libc6-dev)  # gcc: bench/ntfs_core_probe.c (the compiled-core candidate of the NTFS checker)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import guestfs, hivex, nbd' 2>/dev/null; then
  rm -rf .venv
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi
.venv/bin/python -c 'import guestfs, hivex, nbd, jinja2, apscheduler, sqlite_utils, winrm' \
  || { echo "setup: the virtual environment cannot import its modules" >&2; exit 1; }
