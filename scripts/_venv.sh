# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: moves to the repository root and
# makes sure .venv exists with signals_app installed (editable) and its test
# extras. Re-runs are instant: pip runs again only when the packaging files
# are newer than the stamp left by the last successful install.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

venv=.venv
stamp=$venv/.installed

if [ ! -x "$venv/bin/python" ]; then
    echo "==> Creating $venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi

if [ ! "$stamp" -nt setup.cfg ] || [ ! "$stamp" -nt pyproject.toml ]; then
    echo "==> Installing signals_app and its test dependencies into $venv"
    # Twice quiet: only errors, which is all a passing install needs to say.
    "$venv/bin/python" -m pip install --quiet --quiet --disable-pip-version-check \
        --editable '.[test]'
    touch "$stamp"
fi

export PATH="$PWD/$venv/bin:$PATH"
