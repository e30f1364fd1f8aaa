"""atheris target: the scripts' results-CSV reader (tconv_results.read_csv_checked, then the
columns every plot derives). Contract: a malformed file ends in tconv_results.UserError;
anything else escaping is a finding. scripts/fuzz.sh runs it."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

(tr,) = common.import_scripts("tconv_results")

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

if __name__ == "__main__":
    common.main(TestOneInput)
