"""CSV downloads, streamed: UTF-8 with a BOM (spreadsheets then read Arabic right), every cell neutralised against
formula injection (OWASP: a cell starting with = + - @ tab or CR gets a leading apostrophe)."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (prefix it with an apostrophe)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def csv_stream(columns: Sequence[str], rows: Iterable[Sequence[str]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text of `rows` (strings) under a header of `columns`, in chunks, for a StreamingHttpResponse."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_safe(value) for value in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
