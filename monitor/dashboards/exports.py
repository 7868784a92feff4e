"""Tables: what every chart and list on a dashboard shows, as rows, and their CSV export.

A page builds ``Table`` objects; the template renders them as HTML tables (beside each chart, and as
the lists of the page), the CSV export writes the same rows, and the JSON API returns them. One
definition, three outputs: the numbers can never disagree.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from django.http import Http404, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import slugify

# Cells starting with these are read as formulas by spreadsheets; report data comes from strangers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | pct | date | datetime | link | status
    link_key: str = ""  # for kind "link": the row key holding the URL


@dataclass
class Table:
    name: str  # the key of the table in the URL (?csv=name) and in the API
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    empty: str = "Nothing in this period."
    note: str = ""  # e.g. "first 500 of 2,341 rows"
    csv_url: str = ""  # set by the view: this page's URL with ?csv=<name>

    def values(self, row: dict) -> list:
        return [row.get(column.key) for column in self.columns]

    def html_rows(self) -> list[list]:
        """Each row as formatted cells (strings, links and badges safe for the template)."""
        return [[(html_cell(column, row), column.kind) for column in self.columns] for row in self.rows]

    def as_records(self) -> list[dict]:
        """Rows with only the declared columns (JSON-ready: dates as ISO strings)."""
        return [{c.key: plain(row.get(c.key)) for c in self.columns} for row in self.rows]


def plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def html_cell(column: Column, row: dict):
    value = row.get(column.key)
    if value is None or value == "":
        return mark_safe('<span class="muted">–</span>')
    if column.kind == "int":
        return f"{value:,}"
    if column.kind == "pct":
        return f"{value:.1f}%"
    if column.kind == "date":
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if column.kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value)
    if column.kind == "link" and row.get(column.link_key):
        return format_html('<a href="{}">{}</a>', row[column.link_key], value)
    if column.kind == "status":
        return format_html('<span class="badge status-{}">{}</span>', slugify(str(value)), value)
    return str(value)


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.label for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(value) for value in table.values(row)])
    return out.getvalue()


def csv_response(table: Table, filename_parts=()) -> HttpResponse:
    stem = "-".join(slugify(str(part)) for part in (*filename_parts, table.name) if part) or "export"
    response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


def find_table(tables, name: str) -> Table:
    for table in tables:
        if table.name == name:
            return table
    raise Http404("No such table on this page")
