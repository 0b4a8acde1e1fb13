"""Vehicle identification numbers (ISO 3779): 17 characters, never I, O or Q.

The check digit (position 9) is mandatory in North America only, so a wrong one is a
warning to show, not a reason to refuse the number.
"""

import re

VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalize_vin(vin: str) -> str:
    return "".join(vin.split()).upper()


def vin_problem(vin: str) -> str | None:
    """Why this is not a VIN, or None when its length and characters are right."""
    if len(vin) != 17:
        return f"A VIN has 17 characters; this one has {len(vin)}."
    if not VIN_PATTERN.match(vin):
        return "A VIN uses digits and capital letters except I, O and Q."
    return None


def vin_check_digit_ok(vin: str) -> bool:
    total = sum(_VALUES[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))
