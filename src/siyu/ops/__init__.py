"""Bookkeeping of the running system: watermarks of incremental jobs."""
