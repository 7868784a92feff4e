"""Insert many rows fast: many rows per INSERT statement.

    insert_rows(cursor, 'INSERT INTO t (a, b) VALUES', "(%s, %s)", rows, 'ON CONFLICT ...')

SQLite's ``executemany`` runs the statement once per row (and updates an AUTOINCREMENT table's
counter each time); one statement with many rows of VALUES does the same work in about 60 % of
the time. Each statement takes as many rows as the database accepts parameters
(``features.max_query_params``; 999 for SQLite), so the SQL differs only for the last one.
"""

from functools import partial
from itertools import chain

from django.db import connection

MAX_ROWS = 500  # per statement, where the database sets no lower bound


def rows_per_statement(columns: int) -> int:
    limit = connection.features.max_query_params
    return max(1, min(MAX_ROWS, limit // columns)) if limit else MAX_ROWS


def insert_rows(cursor, head: str, row: str, values: list[tuple], tail: str = "") -> None:
    """``head`` (INSERT INTO ... VALUES), then ``row`` (the placeholders of one row) once per row of
    ``values``, then ``tail`` (e.g. ON CONFLICT ...): as few statements as the parameter limit allows."""
    if not values:
        return
    execute = cursor.execute
    if connection.vendor == "sqlite":
        # Straight to the driver, in its own placeholder style: Django's wrapper rewrites every %s to ?
        # with a regular expression on each call, which costs more than the insert at this size.
        # (The driver is the one Django's backend loaded: sqlite3, or pysqlite3, see monitor.sqlite.)
        from django.db.backends.sqlite3.base import Database

        head, row, tail = (part.replace("%s", "?") for part in (head, row, tail))
        execute = partial(Database.Cursor.execute, cursor.cursor)
    size = rows_per_statement(len(values[0]))
    full = None
    with connection.wrap_database_errors:  # the driver's errors as Django's, as through the wrapper
        for start in range(0, len(values), size):
            chunk = values[start:start + size]
            if len(chunk) == size:
                full = full or f"{head} {', '.join([row] * size)} {tail}"
                sql = full
            else:
                sql = f"{head} {', '.join([row] * len(chunk))} {tail}"
            execute(sql, list(chain.from_iterable(chunk)))
