"""Reporting: the meeting dashboard's figures. It reads every context; none reads it."""
from models.reporting import dashboard  # noqa: F401  (registers the places a chart's period-and-place choice offers)
