"""atheris target: the scripts' results-CSV reader (tconv_results.read_csv_checked, then the
columns every plot derives). Contract: a malformed file ends in tconv_results.UserError;
anything else escaping is a finding. scripts/fuzz.sh runs it."""

import os
import sys
import tempfile

try:
    import atheris
except ImportError:  # the regression tests (tests/scripts) run TestOneInput without it
    atheris = None

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))

if atheris is not None:
    with atheris.instrument_imports(include=["tconv_results"]):
        import tconv_results as tr
else:
    import tconv_results as tr

PATH = os.path.join(tempfile.mkdtemp(prefix="tconv_fuzz_csv_"), "results.csv")


def TestOneInput(data: bytes) -> None:
    with open(PATH, "wb") as f:
        f.write(data)
    try:
        # What report.py and plot.py require, then the columns they derive.
        df = tr.read_csv_checked(PATH, ["suite", "shape", "dtype", "layout", "impl", "status",
                                        "time_ms_median"] + tr.PROBLEM_FIELDS)
        tr.add_derived(df)
    except tr.UserError:
        pass


def main() -> None:
    if atheris is None:
        sys.exit("atheris is not installed (python3 -m pip install atheris)")
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
