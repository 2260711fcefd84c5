"""Course-owned harness for sql-analytics: run one learner query in a locked-down DuckDB.

It runs inside the worker, beside the learner's ``queries/*.sql`` files, and only computes: it
gets the database as plain data (table name -> DataFrame), runs the query with no file, network
or extension access, and returns the result as plain data. The test in the grader's process
compares it with the reference; nothing here knows what the answer should be.

The grader's own process uses :func:`execute` too, for the reference queries, so both sides
convert results the same way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

MAX_ROWS = 50_000
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                           "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"})
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
SCALAR_TYPES = frozenset({"VARCHAR", "DATE", "BOOLEAN", '"NULL"', "TIMESTAMP", "TIMESTAMP_S",
                          "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"})
STATEMENT_WORDS = {  # what a learner wrote, for StatementType names that do not say it
    "LOAD": "INSTALL/LOAD (extensions)", "COPY": "COPY", "ATTACH": "ATTACH", "DETACH": "DETACH",
    "SET": "SET", "VARIABLE_SET": "SET", "PRAGMA": "PRAGMA", "EXPORT": "EXPORT",
    "INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE", "CREATE": "CREATE",
    "DROP": "DROP", "ALTER": "ALTER", "TRANSACTION": "BEGIN/COMMIT",
}


class QueryRejected(Exception):
    """The file holds something other than one read-only SELECT over the course's tables."""


class QueryFailed(Exception):
    """DuckDB could not run the query (syntax, unknown column, bad cast...)."""


def connect(tables: dict[str, Any]) -> Any:
    """An in-memory DuckDB holding ``tables``, with external access off and settings locked."""
    import duckdb

    con = duckdb.connect(":memory:", config={
        "threads": 1,
        "memory_limit": "512MB",
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    })
    for name, frame in tables.items():
        con.register("_course_source", frame)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _course_source')
        con.unregister("_course_source")
    con.execute("SET enable_progress_bar = false")
    # From here on no statement can change a setting (external access stays off).
    con.execute("SET lock_configuration = true")
    return con


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_statement(con: Any, sql: str, label: str) -> None:
    """Raise NotImplementedError for an empty file, QueryRejected for anything but a SELECT."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(f"{label} does not parse: {_short(exc)}") from None
    if not statements:
        raise NotImplementedError(f"{label} has no query yet (only comments)")
    for statement in statements:
        kind = statement.type.name
        if kind != "SELECT":
            word = STATEMENT_WORDS.get(kind, kind)
            raise QueryRejected(f"{label} contains a {word} statement. Queries here may only "
                                "read: statements that write, ATTACH, COPY, INSTALL/LOAD "
                                "extensions or change settings are rejected and score 0")
    if len(statements) > 1:
        raise QueryRejected(f"{label} holds {len(statements)} statements; write exactly one "
                            "SELECT (a WITH ... SELECT counts as one)")
    tree = json.loads(con.execute("SELECT json_serialize_sql($1)", [sql]).fetchall()[0][0])
    for node in _walk(tree):
        if node.get("type") == "TABLE_FUNCTION":
            name = str((node.get("function") or {}).get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise QueryRejected(f"{label} calls the table function {name}(): reading files "
                                    "or system tables is not allowed; use the course's tables")
        if node.get("type") == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            if any(ch in table for ch in "./\\*:"):
                raise QueryRejected(f"{label} reads from {table!r}, which looks like a file: "
                                    "reading files is not allowed; use the course's tables")


def _short(exc: BaseException, limit: int = 600) -> str:
    text = str(exc).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)) or value is None:
        return value
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _allowed(type_name: str) -> bool:
    return (type_name in INTEGER_TYPES or type_name in FLOAT_TYPES or type_name in SCALAR_TYPES
            or type_name.startswith("DECIMAL"))


def execute_on(con: Any, sql: str, label: str = "the query") -> dict[str, Any]:
    """Run one query on ``con``; return {"columns", "types", "rows"}, rows as plain values."""
    import duckdb

    check_statement(con, sql, label)
    try:
        cursor = con.execute(sql)
        description = cursor.description or []
        rows = cursor.fetchmany(MAX_ROWS + 1)
    except duckdb.PermissionException:
        raise QueryRejected(f"{label} tried to reach files, the network or extensions, "
                            "which is not allowed; use the course's tables") from None
    except duckdb.Error as exc:
        raise QueryFailed(f"DuckDB could not run {label}: {_short(exc)}") from None
    columns = [str(d[0]) for d in description]
    types = [str(d[1]) for d in description]
    for name, type_name in zip(columns, types, strict=True):
        if not _allowed(type_name):
            raise QueryRejected(f"{label}: column {name!r} has type {type_name}; return plain "
                                "numbers, text, dates, timestamps or booleans (no lists, "
                                "structs or intervals)")
    if len(rows) > MAX_ROWS:
        raise QueryRejected(f"{label} returned more than {MAX_ROWS} rows: is a join condition "
                            "missing?")
    return {"columns": columns, "types": types,
            "rows": [[_plain(v) for v in row] for row in rows]}


def execute(sql: str, tables: dict[str, Any], label: str = "the query") -> dict[str, Any]:
    """Run one query on a fresh database holding ``tables``."""
    con = connect(tables)
    try:
        return execute_on(con, sql, label)
    finally:
        con.close()


# -- what the tests call in the worker ---------------------------------------------------------

_DATABASES: dict[str, Any] = {}


class DatabaseNotLoaded(LookupError):
    """The worker has no database under this key (it is new, or was restarted)."""


def load_database(key: str, tables: dict[str, Any]) -> list[str]:
    """Build the database ``key`` from ``tables`` (name -> DataFrame); return the table names.

    Only one database is kept: each DuckDB instance reserves a lot of address space, and the
    worker runs under an address-space limit.
    """
    for old in _DATABASES.values():
        old.close()
    _DATABASES.clear()
    _DATABASES[key] = connect(tables)
    return sorted(tables)


def run_query(query_file: str, key: str) -> dict[str, Any]:
    """Run the learner's ``queries/<query_file>`` on the loaded database ``key``."""
    path = Path("queries") / query_file
    if not path.is_file():
        raise FileNotFoundError(f"queries/{query_file} is missing: keep the file name the "
                                "README gives")
    con = _DATABASES.get(key)
    if con is None:
        raise DatabaseNotLoaded(key)
    return execute_on(con, path.read_text(encoding="utf-8", errors="replace"),
                      f"queries/{query_file}")
