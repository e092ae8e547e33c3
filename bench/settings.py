"""What a bench run does, from the environment (see bench/README.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "bench", "results")

#: the district of issue 9: totals after loading (the demo's rows count towards them)
DISTRICT = {"communities": 100, "grids": 600, "compounds": 5_700, "residents": 1_000_000,
            "demands": 100_000, "ledger": 1_000_000}
#: what the Excel section moves, whatever the scale
IMPORT_ROWS = 10_000
EXPORT_ROWS = 100_000
#: bump when the generated data changes: a stored dataset of another version is rebuilt
DATASET_VERSION = 3
SECTIONS = ("pages", "api", "dashboard", "excel", "load")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    url: str = field(default_factory=lambda: os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"))
    runs: int = field(default_factory=lambda: int(os.environ.get("BENCH_RUNS", "20")))
    rebuild: bool = field(default_factory=lambda: _flag("BENCH_REBUILD"))
    scale: float = field(default_factory=lambda: float(os.environ.get("BENCH_SCALE", "1")))
    seed: int = field(default_factory=lambda: int(os.environ.get("BENCH_SEED", "20260909")))
    sections: tuple = field(default_factory=lambda: tuple(
        s.strip() for s in os.environ.get("BENCH_SECTIONS", ",".join(SECTIONS)).split(",") if s.strip()))
    load_seconds: float = field(default_factory=lambda: float(os.environ.get("BENCH_LOAD_SECONDS", "20")))
    load_concurrency: int = field(default_factory=lambda: int(os.environ.get("BENCH_LOAD_CONCURRENCY", "8")))
    redis_url: str = field(default_factory=lambda: os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    write_results: bool = field(default_factory=lambda: not _flag("BENCH_NO_RESULTS"))
    #: a second, profiled pass of the import and export (where their time goes)
    profile: bool = field(default_factory=lambda: os.environ.get("BENCH_PROFILE", "1").strip().lower()
                          not in ("0", "false", "no", "off"))

    def __post_init__(self):
        if not self.url.startswith("postgresql"):
            raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL (the bench loads with COPY)")
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url[len("postgresql://"):]
        if self.conninfo.rsplit("/", 1)[1].split("?")[0] == "test":
            raise SystemExit("refusing to use the database named test (the test suite resets it)")
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise SystemExit(f"unknown BENCH_SECTIONS {sorted(unknown)}; known: {', '.join(SECTIONS)}")

    @property
    def sizes(self) -> dict:
        """The target totals at this scale (a smoke run: BENCH_SCALE=0.02)."""
        return {k: max(1, int(round(v * self.scale))) for k, v in DISTRICT.items()}

    @property
    def conninfo(self) -> str:
        """The URL for psycopg itself (no SQLAlchemy driver suffix)."""
        return "postgresql://" + self.url.split("://", 1)[1]
