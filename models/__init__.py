"""The domain's tables and rules, one package per bounded context (docs/architecture.md).

Importing this package declares every entity, in dependency order: the kernel (places,
organisations, 字典 types, users), people, the 三单 service loop, volunteers, co-building, and
reporting (which reads them all and is read by none).
"""
from models import kernel, people, service, volunteers, cobuilding, reporting  # noqa: F401
from app import audit as _audit_hooks  # noqa: F401  (session events writing the audit log)
