"""Figures for operators: the dashboard and, later, attribution and reports."""
