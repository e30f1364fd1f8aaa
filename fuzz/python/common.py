"""What the atheris targets here share: scripts/ on the import path, atheris where it is installed
(tests/scripts/test_fuzz_regressions.py runs the targets' TestOneInput without it), and main()."""

import importlib
import os
import sys

try:
    import atheris
except ImportError:
    atheris = None

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))


def import_scripts(*names):
    """The named modules of scripts/, instrumented for atheris's coverage where it is installed."""
    if atheris is None:
        return [importlib.import_module(n) for n in names]
    with atheris.instrument_imports(include=list(names)):
        return [importlib.import_module(n) for n in names]


def main(test_one_input):
    if atheris is None:
        sys.exit("atheris is not installed (python3 -m pip install atheris)")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
