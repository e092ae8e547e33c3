"""Kernel: what every context shares — places, organisations, 字典, users, attachments,
the audit trail, import jobs and the role table."""
from models.kernel import audit, base, dictionary, orgs, places, users  # noqa: F401
from models.kernel import jobs, attachments, policy  # noqa: F401
