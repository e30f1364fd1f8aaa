"""The scripts keep no list of implementation or suite names: those come from the data. Every
implementation and suite name of the fixture is looked for in the string literals and comments of
every script (identifiers such as a plotting method that happens to share a name don't count)."""

import glob
import os
import re
import tokenize

from conftest import FIXTURE, SCRIPTS, read_rows


def literal_text(path):
    """The strings (docstrings and f-strings included) and comments of a Python file."""
    with open(path, "rb") as f:
        tokens = list(tokenize.tokenize(f.readline))
    kinds = {tokenize.STRING, tokenize.COMMENT}
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):  # Python 3.12+
        if hasattr(tokenize, name):
            kinds.add(getattr(tokenize, name))
    return "\n".join(t.string for t in tokens if t.type in kinds)


def test_no_fixture_names_in_scripts():
    import peer_pytorch
    rows = read_rows(FIXTURE)
    names = {r["impl"] for r in rows} | {r["suite"] for r in rows}
    names -= set(peer_pytorch.PEER_IMPLS)  # the peer's own names are its to define
    assert len(names) >= 5
    scripts = sorted(glob.glob(os.path.join(SCRIPTS, "*.py")))
    assert {os.path.basename(s) for s in scripts} >= {"plot.py", "compare.py",
                                                       "peer_pytorch.py"}
    found = []
    for path in scripts:
        text = literal_text(path)
        for n in sorted(names):
            if re.search(r"(?<![A-Za-z0-9_])" + re.escape(n) + r"(?![A-Za-z0-9_])", text):
                found.append(f"{os.path.basename(path)}: {n}")
    assert not found, found


def test_checker_finds_a_planted_name(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("x = 1  # tuned for cudnn_find\nBASE = 'phase_gemm'\nax.scatter(1)\n")
    text = literal_text(str(planted))
    assert "cudnn_find" in text and "phase_gemm" in text and "scatter" not in text
