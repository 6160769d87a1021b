#!/usr/bin/env bash
# One command on a fresh Debian machine (Python 3.11, root): install everything sopgen
# needs, then validate and build the shipped example library into output/.
set -euo pipefail
cd "$(dirname "$0")"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # libharfbuzz-subset0 makes WeasyPrint's font subsetting (and so PDF output) several
  # times faster; poppler-utils gives pdftoppm for looking at pages; fonts for the PDFs;
  # postgresql: the tests start a throwaway cluster with its initdb/pg_ctl (tests/dbkit.py).
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils \
    fonts-dejavu-core fonts-liberation2 postgresql >/dev/null
  # Debian's chromium: the desk's browser test drives it through Playwright (whose own
  # browser download is not used).
  if ! command -v chromium >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  if ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# Mozilla's ical.js, the second calendar parser the tests check deadlines.ics with.
if command -v npm >/dev/null 2>&1 && [ -f tests/js/package-lock.json ]; then
  npm ci --silent --no-audit --no-fund --prefix tests/js
fi

sopgen validate
sopgen build
echo "setup: done; documents are in output/html/ (open index.html) and output/pdf/"
