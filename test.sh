#!/usr/bin/env bash
# The README's second command: lint, type checks, import contracts and the test suite,
# all inside .venv (made by ./setup.sh); nothing needs activating. Extra arguments go to
# pytest, e.g. ./test.sh tests/test_validate.py -x
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "test: no $VENV here; run ./setup.sh first" >&2
  exit 1
fi
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/lint-imports"
# The suite runs with HOME at an empty folder, which must stay empty: no test writes into
# a user's home (tests/conftest.py gives them a temporary one).
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# The check runs whether or not the tests pass; the script exits with pytest's code (or 1
# when pytest passed but something wrote into HOME).
status=0
HOME="$home" "$VENV/bin/python" -m pytest -q "$@" || status=$?
if [ -n "$(ls -A "$home")" ]; then
  echo "test: the test suite wrote into HOME:" >&2
  ls -A "$home" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
