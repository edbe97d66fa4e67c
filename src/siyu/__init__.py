"""Siyu (私域): a self-hosted private-domain member platform for retail brands."""

__version__ = "0.1.0"
