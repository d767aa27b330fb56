"""Read what the clickstream function loaded: the same ``DATABASE_URL`` it writes to, queried from the notebook.

    query("sqlite:///clicks.sqlite", "SELECT page, SUM(clicks) FROM page_clicks GROUP BY page")
    page_clicks(url)   # Counter {(page, minute): clicks}, to compare with the producer's ground truth

PostgreSQL URLs take the user name and password from the Secrets Manager secret (``secret_id``), as the function
does.
"""
from __future__ import annotations

import json
import sqlite3
from collections import Counter
from urllib.parse import urlsplit

from . import aws


class Rows(list):
    """Query results: a list of tuples that shows as a table in Jupyter."""

    def __init__(self, columns, rows):
        super().__init__(rows)
        self.columns = columns

    def _repr_html_(self):
        import html

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sqlite_url(path) -> str:
    """``sqlite:///<path>`` for a file path (relative or absolute), the form DATABASE_URL takes."""
    return f"sqlite:///{path}"


def query(url: str, sql: str, params=(), secret_id: str | None = None) -> Rows:
    """Run one SELECT against the database at ``url`` and return its rows."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url[len("sqlite:///"):], timeout=30)
        paramstyle_sql = sql
    elif url.startswith(("postgresql://", "postgres://")):
        import pg8000.dbapi

        if not secret_id:
            raise ValueError("A PostgreSQL URL needs secret_id: the Secrets Manager secret with the user name and "
                             "password.")
        secret = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
        parts = urlsplit(url)
        connection = pg8000.dbapi.connect(host=parts.hostname, port=parts.port or 5432,
                                          database=parts.path.lstrip("/") or None, user=secret["username"],
                                          password=secret["password"])
        paramstyle_sql = sql.replace("?", "%s")
    else:
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}.")
    try:
        cursor = connection.cursor()
        cursor.execute(paramstyle_sql, params)
        return Rows([d[0] for d in cursor.description or ()], [tuple(r) for r in cursor.fetchall()])
    finally:
        connection.close()


def page_clicks(url: str, secret_id: str | None = None) -> Counter:
    """The whole page_clicks table as ``Counter {(page, minute): clicks}`` (empty if the table is not there yet)."""
    try:
        rows = query(url, "SELECT page, minute, clicks FROM page_clicks", secret_id=secret_id)
    except Exception as exc:
        if "page_clicks" in str(exc) or "does not exist" in str(exc):
            return Counter()
        raise
    return Counter({(page, minute): clicks for page, minute, clicks in rows})
