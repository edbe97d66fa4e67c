"""Analytics: the only package that imports duckdb (and, later, pyspark and sqlglot).

Everything here works on whole tables — the Parquet lake or Arrow tables handed in — never row by row.
"""
