"""URL converters of the web app's pages."""


class RowIdConverter:
    """`<id:name>`: a row's id, at most 18 digits. A longer one names no row: the URL does not match (404) instead of
    reaching the database with a number it cannot store (SQLite raised OverflowError: a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
