"""Runs one scenario against the server at a URL: `python run.py scenarios/<name>.py <redis-url>`.

A scenario module defines `run(url)`, which raises (an assertion) on failure. The run is bounded
in time; a failure prints what failed and exits non-zero.
"""
import importlib.util
import os
import signal
import sys
import traceback


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python run.py scenarios/<name>.py <redis-url>", file=sys.stderr)
        return 2
    path, url = sys.argv[1], sys.argv[2]
    limit = int(os.environ.get("SCENARIO_TIMEOUT_S", "60"))

    def too_long(_signum, _frame):
        raise TimeoutError(f"{path}: still running after {limit} s against {url}")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(limit)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("scenario", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.run(url)
    except BaseException:  # noqa: BLE001 - every failure is reported the same way
        print(f"{path}: FAILED against {url}", file=sys.stderr)
        traceback.print_exc()
        return 1
    print(f"{path}: ok against {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
