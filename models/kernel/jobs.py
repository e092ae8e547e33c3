"""Background jobs (Excel imports): their progress survives the request that started them
and is read by any worker process."""
from __future__ import annotations

import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.kernel.base import Model, now

PENDING, READING, CHECKING, WRITING, DONE, FAILED = "pending", "read", "check", "write", "done", "failed"
PHASES = {PENDING: _l("Waiting"), READING: _l("Reading the file"), CHECKING: _l("Checking the rows"),
          WRITING: _l("Writing"), DONE: _l("Done"), FAILED: _l("Not imported")}


class ImportJob(Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(60))
    filename: Mapped[Optional[str]] = mapped_column(String(200))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    update_existing: Mapped[Optional[bool]] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    bad_rows: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[Optional[str]] = mapped_column(Text)
    error_workbook: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=now)
    finished_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)

    @property
    def percent(self) -> int:
        return percent_of(self.status, self.done, self.total)


def percent_of(status: str, done: int, total: int) -> int:
    """How far a job is: reading is the first 20 %, checking up to 70 %, writing the rest."""
    weights = {PENDING: (0, 0), READING: (0, 20), CHECKING: (20, 70), WRITING: (70, 100)}
    if status in (DONE, FAILED):
        return 100
    low, high = weights.get(status, (0, 0))
    return low + int((high - low) * (done / total)) if total else low
