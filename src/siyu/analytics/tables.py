"""One small interface over the two batch engines, so a set-wise job is written once.

A job registers Arrow tables, materialises named tables from SELECT statements and fetches results.
Statements are written in DuckDB's dialect; on Spark, sqlglot transpiles them. Each materialised
Spark table is checkpointed: an iterative job (label propagation) would otherwise drag its whole
lineage through every round.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv

from siyu.analytics.engine import connect


class Tables(Protocol):
    def put(self, name: str, table: pa.Table) -> None: ...

    def make(self, name: str, select: str, params: list[Any] | None = None) -> None: ...

    def scalar(self, select: str) -> Any: ...

    def fetch(self, select: str) -> pa.Table: ...


class DuckTables:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def put(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def make(self, name: str, select: str, params: list[Any] | None = None) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", params or [])

    def scalar(self, select: str) -> Any:
        return self.con.execute(select).fetchall()[0][0]

    def fetch(self, select: str) -> pa.Table:
        return self.con.sql(select).to_arrow_table()


class SparkTables:
    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def _sql(self, select: str, params: list[Any] | None = None) -> Any:
        import sqlglot
        from sqlglot import exp

        # DuckDB's positional ? become Spark's named markers :p0, :p1 …: still bound, never spliced
        numbers = iter(range(len(params or [])))
        tree = sqlglot.parse_one(select, read="duckdb").transform(
            lambda e: exp.Placeholder(this=f"p{next(numbers)}") if isinstance(e, exp.Placeholder) else e)
        args = {f"p{i}": v for i, v in enumerate(params or [])}
        return self.spark.sql(tree.sql("spark"), args=args or None)

    def put(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def make(self, name: str, select: str, params: list[Any] | None = None) -> None:
        self._sql(select, params).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def scalar(self, select: str) -> Any:
        return self._sql(select).collect()[0][0]

    def fetch(self, select: str) -> pa.Table:
        return self._sql(select).toArrow()


PG_TYPES = {pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.float64(): "DOUBLE PRECISION", pa.bool_(): "BOOLEAN",
            pa.string(): "TEXT", pa.large_string(): "TEXT", pa.date32(): "DATE"}


PG_ARROW = {20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 700: pa.float64(), 701: pa.float64(), 16: pa.bool_()}


class PgTables:
    """PostgreSQL as a batch engine: tables are loaded with COPY and statements transpiled by sqlglot from
    DuckDB's dialect, with ``?`` parameters bound by the driver. Used to measure the same definitions on
    the database a brand may already run (benchmarks/bench_tags.py)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn  # a psycopg connection

    @staticmethod
    def _pg(select: str, bound: bool = False) -> str:
        import sqlglot
        from sqlglot import exp

        # parameters marked apart from the text, so that a literal % (modulo) can be escaped for the driver,
        # which reads % only when it binds parameters
        tree = sqlglot.parse_one(select, read="duckdb").transform(
            lambda e: exp.Var(this="__siyu_param__") if isinstance(e, exp.Placeholder) else e)
        sql = tree.sql("postgres")
        return sql.replace("%", "%%").replace("__siyu_param__", "%s") if bound else sql

    @staticmethod
    def _type(t: pa.DataType) -> str:
        if pa.types.is_timestamp(t):
            return "TIMESTAMPTZ"
        if pa.types.is_dictionary(t):
            return "TEXT"
        return PG_TYPES.get(t, "TEXT")

    def put(self, name: str, table: pa.Table) -> None:
        # event properties are JSON text: typed JSON here, so that ->> paths work on them
        cols = ", ".join(f'"{f.name}" {"JSON" if f.name == "properties" else self._type(f.type)}' for f in table.schema)
        with self.conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.execute(f'CREATE UNLOGGED TABLE "{name}" ({cols})')
            # Arrow writes the CSV column-wise (no Python row objects); an unquoted empty field is NULL
            with cur.copy(f'COPY "{name}" FROM STDIN WITH (FORMAT csv)') as copy:
                for batch in table.to_batches(200_000):
                    sink = io.BytesIO()
                    pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False,
                                                                      quoting_style="needed"))
                    copy.write(sink.getvalue())
            cur.execute(f'ANALYZE "{name}"')

    def make(self, name: str, select: str, params: list[Any] | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.execute(f'CREATE UNLOGGED TABLE "{name}" AS {self._pg(select, bool(params))}', params or None)
            cur.execute(f'ANALYZE "{name}"')

    def scalar(self, select: str) -> Any:
        with self.conn.cursor() as cur:
            cur.execute(self._pg(select))
            return cur.fetchone()[0]

    def fetch(self, select: str) -> pa.Table:
        # COPY out as CSV, parsed by Arrow: tens of millions of tag rows never become Python tuples. Column
        # types come from the statement (a value column of digits is still text).
        sql = self._pg(select)
        sink = io.BytesIO()
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0")  # noqa: S608 - our statement
            types = {d.name: PG_ARROW.get(d.type_code, pa.string()) for d in cur.description}
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
                    sink.write(chunk)
        sink.seek(0)
        return pa_csv.read_csv(sink, convert_options=pa_csv.ConvertOptions(column_types=types,
                                                                           strings_can_be_null=False))


def as_tables(con: duckdb.DuckDBPyConnection | Tables) -> Tables:
    return DuckTables(con) if isinstance(con, duckdb.DuckDBPyConnection) else con


@contextmanager
def spark_session(master: str = "local[2]", partitions: int = 8) -> Iterator[Any]:
    """A local Spark session (a cluster's master URL in production), stopped afterwards unless it was
    already running. Shuffle partitions default low: Spark's 200 would make each small step of an
    iterative job pay for 200 tasks."""
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None:
        yield running
        return
    spark = (SparkSession.builder.master(master).appName("siyu")
             .config("spark.sql.shuffle.partitions", str(partitions))
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def open_tables(engine: str) -> Iterator[Tables]:
    """The engine the settings name (``SIYU_ENGINE``): DuckDB in memory, or Spark."""
    if engine == "spark":
        with spark_session() as spark:
            yield SparkTables(spark)
    else:
        with connect() as con:
            yield DuckTables(con)
