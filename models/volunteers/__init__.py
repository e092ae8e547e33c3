"""Volunteers: volunteers, teams and activities, the points ledger and gift exchange,
stars and commendations, bulletins, and their statistics."""
from models.volunteers import activities, points  # noqa: F401
from models.volunteers import honours, bulletins  # noqa: F401  (after activities and points)
