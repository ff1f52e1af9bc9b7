# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: moves to the repository root and
# makes sure .venv exists with signals_app installed (editable) and its test
# extras. Re-runs are instant: pip runs again only when the packaging files
# are newer than the stamp left by the last successful install, or when the
# Django asked for is not the one the stamp records.
#
# Two variables make a second environment beside the first (CI runs the suite
# on the newest Django this way):
#   SIGNALS_APP_VENV    the venv's folder, .venv unless set
#   SIGNALS_APP_DJANGO  a requirement installed with the package, e.g.
#                       'Django>=6.1,<6.2'; unset: whatever setup.cfg allows
# e.g. SIGNALS_APP_VENV=.venv-django61 SIGNALS_APP_DJANGO='Django>=6.1,<6.2' \
#      PYTHON=python3.13 ./scripts/test

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

venv=${SIGNALS_APP_VENV:-.venv}
django=${SIGNALS_APP_DJANGO:-}
stamp=$venv/.installed
python=${PYTHON:-python3}
if [ -n "${PYTHON:-}" ]; then
    python_source="PYTHON=$PYTHON"
else
    python_source="python3 on PATH; PYTHON is not set"
fi

# Prints "<version> <path>" of the interpreter $1 and succeeds only if it is
# Python 3.11 or newer. Written so that any Python, 2.7 included, can run it:
# the point is to name an old interpreter, not to crash on it.
_python_ok() {
    "$1" -c 'import sys
sys.stdout.write("%s %s\n" % (sys.version.split()[0], sys.executable))
sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# Stops the calling script (this file is sourced, so exit is theirs) before
# venv or pip get to fail at length on an unsupported interpreter.
_python_too_old() {
    if [ -n "$2" ]; then
        echo "error: $0 needs Python 3.11 or newer, and found Python ${2%% *}" \
            "at ${2#* } ($1)." >&2
    else
        echo "error: $0 needs Python 3.11 or newer, and $1 did not run." >&2
    fi
    shift 2
    printf '%s\n' "$@" >&2
    exit 1
}

if [ ! -x "$venv/bin/python" ]; then
    if ! command -v "$python" >/dev/null; then
        echo "error: $0 needs Python 3.11 or newer; no '$python' found on PATH." >&2
        echo "Name one with PYTHON, e.g. PYTHON=python3.11 $0" >&2
        exit 1
    fi
    if ! found=$(_python_ok "$python"); then
        _python_too_old "$python_source" "$found" \
            "Pick another with PYTHON, e.g. PYTHON=python3.11 $0"
    fi
    echo "==> Creating $venv with Python ${found%% *}"
    "$python" -m venv "$venv"
elif ! found=$(_python_ok "$venv/bin/python"); then
    # A venv left by an earlier run on an old interpreter: PYTHON alone would
    # not help, since an existing venv is reused as it is.
    _python_too_old "$venv, left by an earlier run" "$found" \
        "Remove it and pick another Python, e.g. rm -rf $venv && PYTHON=python3.11 $0"
fi

# The stamp holds the Django requirement it was made with.
if [ ! "$stamp" -nt setup.cfg ] || [ ! "$stamp" -nt pyproject.toml ] \
    || [ "$(cat "$stamp")" != "$django" ]; then
    echo "==> Installing signals_app and its test dependencies into $venv" \
        "${django:+with $django}"
    # Twice quiet: only errors, which is all a passing install needs to say.
    "$venv/bin/python" -m pip install --quiet --quiet --disable-pip-version-check \
        --editable '.[test]' ${django:+"$django"}
    printf '%s' "$django" >"$stamp"
fi

export PATH="$PWD/$venv/bin:$PATH"
