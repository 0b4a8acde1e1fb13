"""CSV written a line at a time, for a StreamingHttpResponse, with outside text made safe for spreadsheets."""

import csv
from collections.abc import Iterable, Iterator


class _Echo:
    """A file that hands back what is written, so csv.writer turns one row into one string."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one)
    # as a formula; names come from outside, so such a cell is made text with a leading quote.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_lines(header: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    """The header, then each row, one CSV line at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
