"""Cells written to a CSV that people open in a spreadsheet."""


def spreadsheet_safe(value: str) -> str:
    """The text as a spreadsheet shows it, never runs it: a cell that starts with = + - @ (or a tab
    or carriage return before them) is a formula there, `=HYPERLINK(...)` among them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
