"""Reporting: the meeting dashboard's figures. It reads every context; none reads it."""
