"""People: the registers of residents, households and party members, and their care."""
from models.people import people, care  # noqa: F401
