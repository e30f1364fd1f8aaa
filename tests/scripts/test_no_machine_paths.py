"""No tracked file names a path that exists only on some machine, and everything that names the
results-CSV contract names docs/results-csv.md (its only copy).

What counts as a machine path: an absolute path under a root whose contents differ from machine
to machine (users' homes, work and scratch mounts, cluster file systems, temporary folders), plus
the absolute path of this very checkout and of the home folder of whoever runs the test (so a
checkout anywhere else is caught too). Not counted, because they are the same on every Linux
machine the project supports or are the tools' documented defaults: the FHS system locations
(/usr with CUDA's default prefix /usr/local/cuda, /bin/sh, /usr/bin/env, /dev, /etc, /proc) and
/opt (vendors' install prefixes); placeholders such as /path/to/... in messages are not paths of
any machine either. Relative paths never count."""

import os
import re
import subprocess

import pytest

from conftest import REPO

# Roots under which a path belongs to one machine or one user. "tmp" is here too: a fixed path
# in a shared temporary folder collides between users and runs (tests name theirs by pid).
MACHINE_ROOTS = ["home", "root", "Users", "work", "scratch", "mnt", "media", "data", "srv",
                 "tmp", "lustre", "gpfs", "nfs", "net", "private"]
# A root starts the path: not the tail of a longer path, a URL, ${VAR}/..., ~/... or ../...
MACHINE_PATH = re.compile(r"(?<![\w.~$}/\\-])/(?:" + "|".join(MACHINE_ROOTS) +
                          r")(?=/|[\s\"'`),;:]|$)")
WINDOWS_HOME = re.compile(r"\b[A-Za-z]:\\+(?:Users|Documents and Settings)\\")
# This file plants machine paths and other names of the contract to test its checkers.
SELF = os.path.relpath(os.path.abspath(__file__), REPO)
# The contract's file named anywhere but as docs/results-csv.md (files in docs/ may link it
# relatively).
CONTRACT_FILE = re.compile(r"(?<![\w.-])(?:[\w.-]+/)*results-csv\.md")


def tracked_files():
    try:
        res = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True,
                             timeout=60)
    except OSError as e:
        pytest.skip(f"git is not available ({e}): the tracked files are unknown")
    if res.returncode != 0:
        pytest.skip(f"not a git checkout: {res.stderr.decode(errors='replace').strip()}")
    return [p for p in res.stdout.decode().split("\0") if p]


def text_of(rel):
    path = os.path.join(REPO, rel)
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def local_paths():
    """This checkout's and the current user's absolute folders (with a trailing slash, so that
    /rootfs is not /root), where they are more than the file-system root."""
    out = set()
    for p in (REPO, os.path.expanduser("~")):
        p = os.path.realpath(p).rstrip("/")
        if p:
            out.add(p + "/")
    return out


def machine_path_hits(text, extra=()):
    hits = []
    for n, line in enumerate(text.splitlines(), 1):
        found = [m.group(0) for m in MACHINE_PATH.finditer(line)]
        found += [m.group(0) for m in WINDOWS_HOME.finditer(line)]
        found += [p for p in extra if p in line]
        hits += [(n, f, line.strip()) for f in found]
    return hits


def contract_hits(text):
    return [(n, m.group(0), line.strip())
            for n, line in enumerate(text.splitlines(), 1)
            for m in CONTRACT_FILE.finditer(line) if m.group(0) != "docs/results-csv.md"]


def test_no_machine_paths_in_tracked_files():
    files = tracked_files()
    assert len(files) > 50 and "docs/results-csv.md" in files
    extra = local_paths()
    bad = []
    for rel in files:
        if rel == SELF:
            continue
        text = text_of(rel)
        if text is None:
            continue
        bad += [f"{rel}:{n}: {p}  ({line[:120]})" for n, p, line in machine_path_hits(text, extra)]
    assert not bad, "absolute paths of a machine:\n" + "\n".join(bad)


def test_the_contract_is_named_by_its_path():
    bad = []
    for rel in tracked_files():
        if rel.startswith("docs/") or rel == SELF:
            continue
        text = text_of(rel)
        if text is None:
            continue
        bad += [f"{rel}:{n}: {p}  ({line[:120]})" for n, p, line in contract_hits(text)]
    assert not bad, "the results-CSV contract is docs/results-csv.md:\n" + "\n".join(bad)


# The checkers themselves, on planted text: what they must find and what they must let pass.
@pytest.mark.parametrize("line", [
    "// the contract (/work/shared/x.md)",
    "cd /home/alice/tconv && make",
    'out = "/tmp/tconv_out.csv"',
    "export PATH=/root/bin:$PATH",
    "see /scratch/u1/run",
    r"C:\Users\bob\tconv",
    "ls /mnt",
])
def test_checker_finds_a_planted_machine_path(line):
    assert machine_path_hits(line), line


@pytest.mark.parametrize("line", [
    "#!/usr/bin/env python3",
    "for d in /usr/local/cuda/bin; do",
    '2>/dev/null || true',
    'cp "$build/tconv" "$root/libexec/"',
    "${OUT}/tmp/x and ~/work/x and ../tmp/y and build/tmp",
    "https://example.org/data/x and a/home/b",
    "-DCUTLASS_DIR=/path/to/cutlass",
    "throughput/work ratio",
])
def test_checker_lets_system_and_relative_paths_pass(line):
    assert not machine_path_hits(line), line


def test_checker_finds_this_checkouts_path():
    here = sorted(local_paths())[0]
    assert machine_path_hits(f"x = '{here}scripts'", local_paths())


def test_contract_checker():
    assert contract_hits("format: shared/results-csv.md")
    assert contract_hits("(results-csv.md is the contract)")
    assert not contract_hits("the contract: docs/results-csv.md; [x](docs/results-csv.md)")
