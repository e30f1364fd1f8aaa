"""The README's implementation table is the registry's (`tconv list --markdown`): adding an
implementation to kernels/registry.def without the README, or the other way round, fails here."""

import os
import re
import subprocess

from conftest import REPO, require_binary

BEGIN, END = "<!-- impl-table:begin (tconv list --markdown) -->", "<!-- impl-table:end -->"


def readme_table():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    assert m, "README.md lacks the implementation table's markers"
    return m.group(1)


def test_readme_table_is_the_registrys():
    tconv = require_binary("tconv")
    out = subprocess.run([tconv, "list", "--markdown"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    table = readme_table()
    names = [line.split("`")[1] for line in out.stdout.splitlines()[2:]]
    if "cutlass_dgrad" in names and "phase_sm90" in names:
        assert out.stdout == table, ("README.md's implementation table differs from `tconv list "
                                     "--markdown`: paste its output between the markers")
    else:  # a build without CUTLASS lists fewer rows; each of them must still be the README's
        for line in out.stdout.splitlines():
            assert line in table.splitlines(), line
