"""Service: the 三单 loop — demands and their tables (demands), the state machine
(machine), who is told (notices), the timed rules (sweep), the requester's rating link
(ratings), and the service rates (rates)."""
from models.service import demands, notices, machine, sweep, ratings  # noqa: F401
