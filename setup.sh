#!/usr/bin/env bash
# The README's first command. On a stock Debian 12 machine, as root, from the repository
# root: install the Debian packages sopgen needs, create the virtual environment .venv
# (git-ignored) from Debian's own /usr/bin/python3, install sopgen and its development
# tools into it, then validate and build the shipped example library into output/.
# Nothing is installed into the system Python (Debian refuses that: PEP 668), and no
# other Python on PATH is used. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=/usr/bin/python3
VENV=.venv
# python3-venv: the venv module; python3-gi + gir1.2-ical-3.0: libical's own parser, which
#   the tests check calendar files with (reached through --system-site-packages);
# libharfbuzz-subset0: makes WeasyPrint's font subsetting (so PDF output) several times
#   faster; libpango*: WeasyPrint; poppler-utils: pdftoppm for looking at pages; fonts;
# postgresql: the team database tests; chromium: the desk's browser tests (libatomic1 for
#   Playwright's bundled node driver); git: sopgen check; default-jre-headless: Java for
#   the Nu HTML Checker (vnu.jar, from npm below), which the tests run over every page.
PACKAGES=(
  python3 python3-venv python3-gi gir1.2-ical-3.0
  libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
  fonts-dejavu-core fonts-liberation2
  postgresql chromium libatomic1 git ca-certificates default-jre-headless
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  # Node and npm for Mozilla's ical.js (calendar tests): Debian's, unless npm is already there.
  if ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "    hint: run ./setup.sh as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV from $PYTHON"
  "$PYTHON" -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# The tests' JavaScript checkers, at the versions tests/js/package-lock.json pins:
# Mozilla's ical.js (the second calendar parser deadlines.ics is checked with),
# axe-core (accessibility rules, run in chromium) and vnu-jar (the Nu HTML Checker).
# --ignore-scripts: none of them needs one, and vnu-jar's would fetch a Java runtime
# from the network where Debian's (above) is missing.
if command -v npm >/dev/null 2>&1 && [ -f tests/js/package-lock.json ]; then
  npm ci --silent --no-audit --no-fund --ignore-scripts --prefix tests/js
fi

"$VENV/bin/sopgen" validate
"$VENV/bin/sopgen" build
echo "setup: done; documents are in output/html/ (open index.html) and output/pdf/"
echo "setup: run the tests with ./test.sh; sopgen itself is .venv/bin/sopgen"
