"""Kernel: what every context shares — places, organisations, 字典, users, attachments,
the audit trail and import jobs."""
from models.kernel import audit, base, dictionary, orgs, places, users  # noqa: F401
from models.kernel import jobs, attachments  # noqa: F401
