"""The mutation score of `make mutate`: killed mutants over the non-equivalent ones, from mutmut's
results, for the functions in targets.txt; exits non-zero under the threshold.

`python mutation/score.py --globs` prints the mutant names to hand to `mutmut run` instead;
`--paths` the files whose change calls for a new run (what CI compares with the previous commit):
the mutated files, the tests mutmut runs with the helpers they share, and this folder.
Equivalent mutants are listed in equivalent.txt, one a line: the mutant's name, then its reason.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.95
TEST_HELPERS = ["tests/conftest.py", "tests/access_scene.py", "tests/factories.py"]
SURVIVED = {0, 5, 33}  # the tests passed, or no test ran it: either way nothing caught it


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text()
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def _paths() -> list[str]:
    config = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [*config["only_mutate"], *config["pytest_add_cli_args_test_selection"], *TEST_HELPERS, "mutation"]


def main() -> int:
    targets = [line.split()[0] for line in _lines("targets.txt")]
    if sys.argv[1:] == ["--globs"]:
        print(" ".join(f"{target}__mutmut_*" for target in targets))
        return 0
    if sys.argv[1:] == ["--paths"]:
        print(" ".join(_paths()))
        return 0
    equivalent = {line.split()[0] for line in _lines("equivalent.txt")}
    results: dict[str, int | None] = {}
    for meta in (HERE.parent / "mutants").rglob("*.py.meta"):
        results.update(json.loads(meta.read_text())["exit_code_by_key"])
    ours = {name: code for name, code in results.items() if name.split("__mutmut_")[0] in targets}
    unchecked = sorted(name for name, code in ours.items() if code is None)
    survived = sorted(name for name, code in ours.items() if code in SURVIVED and name not in equivalent)
    counted = [name for name in ours if name not in equivalent]
    killed = len(counted) - len(survived) - len([n for n in unchecked if n not in equivalent])
    stale = sorted(name for name in equivalent if ours.get(name) not in SURVIVED)
    for name in survived:
        print(f"survived: {name}")
    for name in stale:
        print(f"listed as equivalent but killed or gone (remove it from equivalent.txt): {name}")
    score = killed / len(counted) if counted else 0.0
    print(
        f"{killed} of {len(counted)} non-equivalent mutants killed ({score:.1%}); "
        f"{len(ours) - len(counted)} equivalent, {len(unchecked)} not checked; threshold {THRESHOLD:.0%}"
    )
    if not ours:
        print("No results: run `make mutate`.")
        return 1
    return 0 if score >= THRESHOLD and not unchecked else 1


if __name__ == "__main__":
    sys.exit(main())
