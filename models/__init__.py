"""Every domain model. Importing this package declares all entities."""
from models import audit, base, dictionary, orgs, places, users  # noqa: F401
from app import audit as _audit_hooks  # noqa: F401  (session events writing the audit log)
