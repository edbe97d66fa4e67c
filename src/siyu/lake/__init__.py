"""The export from the operational database to the Parquet lake the analytics engine reads."""
