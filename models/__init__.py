"""Every domain model. Importing this package declares all entities."""
from models import audit, base, dictionary, orgs, places, users  # noqa: F401
from models import people, care, jobs  # noqa: F401  (after places and orgs)
from models import service  # noqa: F401  (after people)
from models import volunteers, points  # noqa: F401  (after people and places)
from models import honours, bulletins  # noqa: F401  (after volunteers and points)
from models import cobuilding, meetings, stations, guides, mediation, assessments  # noqa: F401  (after people …)
from models import attachments  # noqa: F401
from app import audit as _audit_hooks  # noqa: F401  (session events writing the audit log)
