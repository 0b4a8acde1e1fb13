"""The mutation score of `make mutate`, one a target set: killed mutants over the non-equivalent
ones, from mutmut's results, for the functions in the set's file; exits non-zero when a set named
is under the threshold.

    python mutation/score.py [SET ...]          the score of the sets named (all when none is)
    python mutation/score.py --globs [SET ...]  the mutant names to hand to `mutmut run` instead
    python mutation/score.py --paths            the files whose change calls for a new run

The sets are TARGET_SETS; `--paths` (what CI compares with the previous commit) names the mutated
files, the tests mutmut runs with the helpers they share, and this folder. Equivalent mutants are
listed in equivalent.txt, one a line: the mutant's name, then its reason.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.95
TARGET_SETS = {"doors": "targets.txt", "sign-in": "targets-sign-in.txt"}  # the set, its functions
TEST_HELPERS = ["tests/conftest.py", "tests/cast.py", "tests/factories.py", "tests/portal_helpers.py"]
SURVIVED = {0, 5, 33}  # the tests passed, or no test ran it: either way nothing caught it


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text()
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def _paths() -> list[str]:
    config = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [*config["only_mutate"], *config["pytest_add_cli_args_test_selection"], *TEST_HELPERS, "mutation"]


def _targets(target_set: str) -> list[str]:
    return [line.split()[0] for line in _lines(TARGET_SETS[target_set])]


def _results() -> dict[str, int | None]:
    results: dict[str, int | None] = {}
    for meta in (HERE.parent / "mutants").rglob("*.py.meta"):
        results.update(json.loads(meta.read_text())["exit_code_by_key"])
    return results


def _score(target_set: str, results: dict[str, int | None], equivalent: set[str]) -> bool:
    """Prints the set's survivors and score; True if it reaches the threshold."""
    targets = _targets(target_set)
    ours = {name: code for name, code in results.items() if name.split("__mutmut_")[0] in targets}
    unchecked = sorted(name for name, code in ours.items() if code is None)
    survived = sorted(name for name, code in ours.items() if code in SURVIVED and name not in equivalent)
    counted = [name for name in ours if name not in equivalent]
    killed = len(counted) - len(survived) - len([n for n in unchecked if n not in equivalent])
    stale = sorted(
        name
        for name in equivalent
        if name.split("__mutmut_")[0] in targets and ours.get(name) not in SURVIVED
    )
    for name in survived:
        print(f"survived: {name}")
    for name in stale:
        print(f"listed as equivalent but killed or gone (remove it from equivalent.txt): {name}")
    score = killed / len(counted) if counted else 0.0
    print(
        f"{target_set}: {killed} of {len(counted)} non-equivalent mutants killed ({score:.1%}); "
        f"{len(ours) - len(counted)} equivalent, {len(unchecked)} not checked; threshold {THRESHOLD:.0%}"
    )
    if not ours:
        print(f"{target_set}: no results: run `make mutate`.")
        return False
    return score >= THRESHOLD and not unchecked


def main() -> int:
    arguments = sys.argv[1:]
    if arguments == ["--paths"]:
        print(" ".join(_paths()))
        return 0
    globs = arguments[:1] == ["--globs"]
    sets = arguments[1:] if globs else arguments
    unknown = [name for name in sets if name not in TARGET_SETS]
    if unknown:
        print(f"unknown target sets {unknown}: the sets are {list(TARGET_SETS)}")
        return 2
    sets = sets or list(TARGET_SETS)
    if globs:
        print(" ".join(f"{target}__mutmut_*" for target_set in sets for target in _targets(target_set)))
        return 0
    equivalent = {line.split()[0] for line in _lines("equivalent.txt")}
    results = _results()
    passed = [_score(target_set, results, equivalent) for target_set in sets]
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
