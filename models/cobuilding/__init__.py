"""Co-building: partner units' pledges and funds, joint meetings, stations and contact
cards, policy guides and the one-stop window, mediation, assessments."""
from models.cobuilding import pledges, meetings, stations, guides, mediation, assessments  # noqa: F401
