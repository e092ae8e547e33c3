"""Kernel: what every context shares — places, organisations, the kernel's 字典 types,
users, attachments and the role table. (The 字典 itself, the audit trail and import jobs
are the engine's: app.dictionary, app.records, app.jobs.)"""
from models.kernel import base, dictionary, orgs, places, users  # noqa: F401
from models.kernel import attachments, policy  # noqa: F401
