"""Shared helpers of the script tests: paths, the fixture, running a script as a user would."""

import csv
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPTS = os.path.join(REPO, "scripts")
FIXTURE = os.path.join(REPO, "tests", "fixtures", "results_fixture.csv")

if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

# Matplotlib must never try a display, in-process or in a subprocess.
os.environ.setdefault("MPLBACKEND", "Agg")


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


def fixture_columns():
    with open(FIXTURE, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.fixture
def run_script(tmp_path):
    """Runs scripts/<name> with arguments in a fresh interpreter; returns CompletedProcess."""
    def run(name, *args, pre=None):
        env = dict(os.environ, MPLBACKEND="Agg", MPLCONFIGDIR=str(tmp_path / "mpl"),
                   PYTHONDONTWRITEBYTECODE="1")
        script = os.path.join(SCRIPTS, name)
        if pre is None:
            cmd = [sys.executable, script, *args]
        else:  # run a snippet first (e.g. hide a module), then the script as __main__
            code = (f"import sys, runpy; {pre}; sys.argv = {[script, *args]!r}; "
                    f"runpy.run_path({script!r}, run_name='__main__')")
            cmd = [sys.executable, "-c", code]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path), env=env,
                              timeout=120)
    return run


def assert_one_line_error(res, *needles):
    """Exit status 1, exactly one line on stderr, no traceback, mentioning each needle."""
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "error" in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
