"""Service: the 三单 loop — demands, resources and projects, their state machine, ratings,
notifications and rates."""
from models.service import demands  # noqa: F401
