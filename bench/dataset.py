"""The district-scale dataset: the migrated, seeded demo plus COPY-loaded rows.

Start: an empty schema, the migrations, the reference data, the roles and the demo
(``tests.conftest.prepare_database``: 广场街道 with 文化路社区 and 槐荫社区). Then, with
``COPY … FROM STDIN`` on one psycopg connection, in one transaction, the rows up to the
district totals of :data:`bench.settings.DISTRICT`:

* communities (6 grids and 57 compounds each, like 文化路社区; 3 buildings a compound,
  2 units a building), three taking units (驻社区/辖区/结对单位) each;
* residents in households (3.6 people a household: head, spouse, children, parents) with
  valid GB 11643 ID numbers whose birth date and sex agree with the row, 11-digit mobiles,
  字典 codes for sex, ethnicity, political status, relation and residence type (10 % of
  the district floating: the export's 100,000 rows);
* demands in every state of the 三单 loop with consistent times (dispatch, take, start,
  resolution, rating), numbers ``WH-<year>-<id>``, requesters from the register or by
  name, takers among the community's units, and the ``create`` step of each timeline;
* volunteers (100 adults a community) and their points ledger: awards and redemptions in
  time order, ``balance_after`` the running balance, unique posting keys, and each
  volunteer's ``points_balance`` equal to the sum of their entries.

Foreign keys, unique keys, NOT NULL and CHECK constraints stay on while loading, so the
database itself vouches that the rows are valid. No column of these tables is encrypted
(app/sensitive.py masks on display), so values are stored as the app stores them.
Everything is drawn from ``random.Random(seed)``: the same seed gives the same rows.

The dataset is kept between runs: a table ``bench_dataset`` records the sizes, the seed,
the dataset version and the migration head it was built with; a run finding the same
reuses it (``BENCH_REBUILD=1`` forces a rebuild).
"""
from __future__ import annotations

import datetime
import json
import random
import time
from typing import Iterable

import psycopg

from bench.settings import DATASET_VERSION, Settings

MARKER = "bench_dataset"

REGIONS = ("420902", "420921", "420922", "420923", "420981", "420982", "420984", "421002", "420106", "420111")
COMMUNITY_PREFIX = ("东风", "建设", "解放", "人民", "和平", "胜利", "友谊", "光明", "新华", "长征",
                    "朝阳", "团结", "幸福", "民主", "文昌", "书院", "槐荫", "董永", "天仙", "城站")
COMMUNITY_SUFFIX = ("路", "街", "里", "苑", "园")
ROADS = ("城站路", "文化路", "园林路", "北京路", "长征路", "交通路", "乾坤大道", "槐荫大道", "黄孝路", "航天路",
         "体育路", "复兴大道", "广场路", "书院街", "民主街")
COMPOUND_KINDS = ["sanwu"] * 28 + ["property"] * 4 + ["unit_built"] * 17 + ["self_built"] * 8
KIND_SUFFIX = {"sanwu": "院", "property": "花园", "unit_built": "宿舍", "self_built": "自建房片"}
UNIT_TYPES = (("resident_unit", "驻社区单位"), ("local_unit", "辖区单位"), ("paired_unit", "结对单位"))
ETHNIC_OTHER = ("02", "03", "04", "05", "08", "09", "11", "15")
EMPLOYERS = ("孝感市第一人民医院", "孝南区实验中学", "孝感供电公司", "孝感市水务集团", "个体经营", "孝感高新区某公司",
             "孝南区财政局", "孝感市邮政局", "某物流公司", "某超市")
TROUBLES = ("楼道灯不亮", "下水道堵塞", "化粪池满溢", "屋顶漏水", "垃圾清运不及时", "路面破损", "乱停车堵通道",
            "绿化带杂草丛生", "独居老人需要助餐", "孩子放学无人辅导", "邻里噪音纠纷", "白蚁出没", "消防通道堆物",
            "单元门禁损坏", "政策咨询：养老保险")
SOURCES = ("visit", "phone", "grid_visit", "station", "online", "hotline")
OLD_STATES = (("rated", 55), ("closed", 15), ("resolved", 10), ("cancelled", 5), ("duplicate", 3),
              ("in_progress", 4), ("taken", 3), ("dispatched", 3), ("pending", 2))
NEW_STATES = (("pending", 15), ("dispatched", 20), ("taken", 15), ("in_progress", 15), ("resolved", 15),
              ("rated", 15), ("cancelled", 5))
HOUSEHOLD_SIZES = ((1, 8), (2, 20), (3, 27), (4, 25), (5, 13), (6, 7))
VOLUNTEERS_PER_COMMUNITY = 100


def _weighted(pairs):
    values, weights = zip(*pairs)
    cumulative, total = [], 0
    for w in weights:
        total += w
        cumulative.append(total)
    return values, cumulative


# ----------------------------------------------------------------------------- COPY

def _text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    return str(value)


def copy_rows(cur, table: str, columns: Iterable[str], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``table`` (text format, written in blocks); the row count."""
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        block = []
        for row in rows:
            block.append("\t".join([_text(v) for v in row]))
            count += 1
            if len(block) >= 5000:
                copy.write("\n".join(block) + "\n")
                block.clear()
        if block:
            copy.write("\n".join(block) + "\n")
    return count


# ----------------------------------------------------------------------------- reuse

def _migration_head() -> str:
    from alembic.script import ScriptDirectory

    from app.extensions import MIGRATIONS_DIR

    return ScriptDirectory(MIGRATIONS_DIR).get_current_head()


def wanted_marker(settings: Settings) -> dict:
    return {"version": DATASET_VERSION, "sizes": settings.sizes, "seed": settings.seed, "head": _migration_head()}


def stored_marker(settings: Settings) -> dict | None:
    try:
        with psycopg.connect(settings.conninfo, autocommit=True) as conn:
            row = conn.execute(f"SELECT value FROM {MARKER} WHERE name = 'dataset'").fetchone()
    except psycopg.Error:
        return None
    return json.loads(row[0]) if row else None


def ensure_database(settings: Settings) -> None:
    """Create the bench database if it does not exist yet."""
    name = settings.conninfo.rsplit("/", 1)[1].split("?")[0]
    server = settings.conninfo.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def counts(settings: Settings) -> dict:
    tables = {"communities": "community", "grids": "grid", "compounds": "compound", "buildings": "building",
              "units": "unit", "households": "household", "residents": "person", "demands": "demand",
              "volunteers": "volunteer", "ledger": "ledger_entry"}
    with psycopg.connect(settings.conninfo, autocommit=True) as conn:
        result = {k: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for k, t in tables.items()}
        result["floating"] = conn.execute("SELECT count(*) FROM person WHERE residence_type = 'floating'"
                                          ).fetchone()[0]
    return result


def prepare(settings: Settings) -> dict:
    """The dataset, built or reused: {"reused": bool, "timings": {...}, "counts": {...}}."""
    ensure_database(settings)
    wanted = wanted_marker(settings)
    stored = stored_marker(settings)
    if stored == wanted and not settings.rebuild:
        print("dataset: reusing the stored one (same sizes, seed, version and migrations; BENCH_REBUILD=1 "
              "rebuilds)", flush=True)
        return {"reused": True, "timings": _stored_timings(settings), "counts": counts(settings)}
    timings = build(settings)
    return {"reused": False, "timings": timings, "counts": counts(settings)}


def _stored_timings(settings) -> dict:
    with psycopg.connect(settings.conninfo, autocommit=True) as conn:
        row = conn.execute(f"SELECT value FROM {MARKER} WHERE name = 'timings'").fetchone()
    return json.loads(row[0]) if row else {}


# ----------------------------------------------------------------------------- build

def build(settings: Settings) -> dict:
    from tests.conftest import _reset_database, make_app, prepare_database

    timings = {}
    started = time.perf_counter()
    print("dataset: migrating and seeding the demo …", flush=True)
    _reset_database(settings.url)
    app = make_app(settings.url, TESTING=False)
    prepare_database(app)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    timings["seed_s"] = round(time.perf_counter() - started, 1)
    print(f"dataset: demo seeded in {timings['seed_s']} s; loading the district with COPY …", flush=True)

    started = time.perf_counter()
    with psycopg.connect(settings.conninfo) as conn:
        conn.execute("SET synchronous_commit TO off")
        loader = Loader(conn, settings)
        loaded = loader.run()
        conn.commit()
    timings["copy_s"] = round(time.perf_counter() - started, 1)
    timings["copied_rows"] = loaded
    print(f"dataset: {sum(loaded.values()):,} rows copied in {timings['copy_s']} s", flush=True)

    started = time.perf_counter()
    with psycopg.connect(settings.conninfo, autocommit=True) as conn:
        for table in ("community", "grid", "compound", "building", "unit", "household", "person", "organisation",
                      "volunteer", "ledger_entry", "demand", "demand_event"):
            conn.execute(f'VACUUM (ANALYZE) "{table}"')
        conn.execute("CHECKPOINT")
    timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    timings["total_s"] = round(timings["seed_s"] + timings["copy_s"] + timings["vacuum_analyze_s"], 1)
    marker = {**wanted_marker(settings), "built_at": datetime.datetime.now().isoformat(timespec="seconds")}
    with psycopg.connect(settings.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (name text PRIMARY KEY, value text NOT NULL)")
        conn.execute(f"DELETE FROM {MARKER}")
        marker_row = {k: v for k, v in marker.items() if k != "built_at"}
        conn.execute(f"INSERT INTO {MARKER} VALUES ('dataset', %s), ('timings', %s), ('built_at', %s)",
                     (json.dumps(marker_row), json.dumps(timings), marker["built_at"]))
    print(f"dataset: VACUUM ANALYZE in {timings['vacuum_analyze_s']} s; built in {timings['total_s']} s", flush=True)
    return timings


class Loader:
    """Generates the district's rows and COPYs them, parents first."""

    def __init__(self, conn, settings: Settings):
        self.conn = conn
        self.cur = conn.cursor()
        self.rng = random.Random(settings.seed)
        self.sizes = settings.sizes
        self.scale = settings.scale
        from app import clock
        from seed.people import GIVEN_1, GIVEN_2, SURNAMES

        self.given_1, self.given_2, self.surnames = GIVEN_1, GIVEN_2, SURNAMES
        self.now = clock.now().replace(microsecond=0)
        self.today = self.now.date()
        self.loaded: dict[str, int] = {}

    # -- helpers
    def scalar(self, sql, *args):
        return self.cur.execute(sql, args or None).fetchone()[0]

    def next_id(self, table: str) -> int:
        return self.scalar(f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"')

    def copy(self, table, columns, rows) -> None:
        n = copy_rows(self.cur, table, columns, rows)
        self.loaded[table] = self.loaded.get(table, 0) + n

    def stamp(self, days_back: int = 1000) -> datetime.datetime:
        return self.now - datetime.timedelta(seconds=self.rng.randrange(3600, days_back * 86400))

    # -- the whole load
    def run(self) -> dict:
        started = time.perf_counter()
        self.street_id = self.scalar("SELECT id FROM street ORDER BY id LIMIT 1")
        self.worker_id = self.scalar("SELECT id FROM ab_user WHERE username = 'worker'")
        self.categories = self.cur.execute(
            "SELECT id, name, take_hours, resolve_days FROM service_category WHERE enabled ORDER BY id").fetchall()
        self.used_ids = {r[0] for r in self.cur.execute("SELECT id_number FROM person WHERE id_number IS NOT NULL")}
        self.places()
        self.log("places", started)
        self.people()
        self.log("residents", started)
        self.units()
        self.volunteers_and_ledger()
        self.log("ledger", started)
        self.demands()
        self.log("demands", started)
        for table in ("community", "grid", "compound", "building", "unit", "household", "person", "organisation",
                      "volunteer", "ledger_entry", "demand", "demand_event"):
            self.cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                             f"(SELECT max(id) FROM \"{table}\"))")
        return self.loaded

    def log(self, what, started):
        print(f"  … {what} done at {time.perf_counter() - started:.0f} s "
              f"({sum(self.loaded.values()):,} rows so far)", flush=True)

    # -- places
    def places(self) -> None:
        rng = self.rng
        existing = self.cur.execute("SELECT id FROM community ORDER BY id").fetchall()
        self.communities = [{"id": r[0], "new": False} for r in existing]
        n_new = max(0, self.sizes["communities"] - len(existing))
        grids_have = self.scalar("SELECT count(*) FROM grid")
        compounds_have = self.scalar("SELECT count(*) FROM compound")
        grid_split = _split(max(0, self.sizes["grids"] - grids_have), n_new)
        compound_split = _split(max(0, self.sizes["compounds"] - compounds_have), n_new)
        have = self.scalar("SELECT count(*) FROM person")
        street_code = self.scalar("SELECT code FROM street WHERE id = %s", self.street_id) or "420902003"
        resident_split = _split(max(0, self.sizes["residents"] - have), n_new)

        cid, gid, kid = self.next_id("community"), self.next_id("grid"), self.next_id("compound")
        bid, uid = self.next_id("building"), self.next_id("unit")
        communities, grids, compounds, buildings, units = [], [], [], [], []
        for k in range(n_new):
            name = f"{COMMUNITY_PREFIX[k % 20]}{COMMUNITY_SUFFIX[(k // 20) % 5]}{'' if k < 100 else k // 100}社区"
            community = {"id": cid, "new": True, "name": name, "residents": resident_split[k],
                         "grids": [], "compounds": [], "units": []}
            created = self.stamp(1500)
            communities.append((cid, self.street_id, name, f"{street_code}{100 + k:03d}",
                                round(rng.uniform(0.2, 1.5), 2), int(resident_split[k] / 3.6), resident_split[k],
                                f"孝感市孝南区{name}", f"0712-{2000000 + k:07d}", created, created))
            for g in range(grid_split[k]):
                grids.append((gid, cid, f"G{g + 1:02d}", f"第{g + 1}网格", created, created))
                community["grids"].append(gid)
                gid += 1
            for n in range(compound_split[k]):
                kind = COMPOUND_KINDS[n % len(COMPOUND_KINDS)]
                grid = community["grids"][n % len(community["grids"])] if community["grids"] else None
                road = ROADS[(n + k) % len(ROADS)]
                compounds.append((kid, cid, grid, f"{road}{2 * n + 1}号{KIND_SUFFIX[kind]}", kind,
                                  rng.randrange(1958, 2020), f"{road}{2 * n + 1}号", 0,
                                  f"b{kid:07d}{rng.getrandbits(40):010x}"[:16], created, created))
                community["compounds"].append((kid, grid))
                for b in range(2 + n % 3):
                    floors = rng.choice((6, 7, 7, 11, 18, 26))
                    buildings.append((bid, kid, cid, grid, f"{b + 1}栋", floors, None, created, created))
                    for u in range(2):
                        units.append((uid, bid, kid, cid, grid, f"{u + 1}单元", None, created, created))
                        community["units"].append((uid, bid, kid, grid))
                        uid += 1
                    bid += 1
                kid += 1
            self.communities.append(community)
            cid += 1
        self.copy("community", ("id", "street_id", "name", "code", "area_km2", "households", "population",
                                "address", "phone", "created_at", "updated_at"), communities)
        self.copy("grid", ("id", "community_id", "code", "name", "created_at", "updated_at"), grids)
        self.copy("compound", ("id", "community_id", "grid_id", "name", "type", "build_year", "address",
                               "households", "public_token", "created_at", "updated_at"), compounds)
        self.copy("building", ("id", "compound_id", "community_id", "grid_id", "name", "floors", "households",
                               "created_at", "updated_at"), buildings)
        self.copy("unit", ("id", "building_id", "compound_id", "community_id", "grid_id", "name", "households",
                           "created_at", "updated_at"), units)

    # -- households and residents
    def people(self) -> None:
        rng = self.rng
        sizes, cumulative = _weighted(HOUSEHOLD_SIZES)
        new_people = sum(c["residents"] for c in self.communities if c["new"])
        have_floating = self.scalar("SELECT count(*) FROM person WHERE residence_type = 'floating'")
        floating_share = max(0.0, min(1.0, (0.1 * self.sizes["residents"] - have_floating) / max(1, new_people)))
        hid, pid = self.next_id("household"), self.next_id("person")
        for community in self.communities:
            if not community["new"]:
                self._existing_people(community)
                continue
            households, persons = [], []
            community["adults"] = []      # (person id, compound, grid, building) for requesters
            community["volunteers"] = []  # (person id, grid) of adults who volunteer
            left = community["residents"]
            units = community["units"]
            h = 0
            while left > 0 and units:
                unit_id, building_id, compound_id, grid_id = units[h % len(units)]
                slot = h // len(units)
                room = f"{slot // 2 + 1}{slot % 2 + 1:02d}"
                created = self.stamp(1200)
                households.append((hid, unit_id, room, building_id, compound_id, community["id"], grid_id,
                                   created, created))
                size = min(left, rng.choices(sizes, cum_weights=cumulative)[0])
                left -= size
                kind = "floating" if rng.random() < floating_share else (
                    "resident" if rng.random() < 0.17 else "registered")
                for person in self._family(size, kind):
                    relation, sex, born, name, phone, politics, ethnicity, employer = person
                    persons.append((pid, name, sex, self._id_number(born, sex), born, phone, ethnicity, politics,
                                    kind, hid, relation, compound_id, community["id"], grid_id, employer,
                                    created, created))
                    age = self.today.year - born.year
                    if age >= 18:
                        if len(community["adults"]) < 3000:
                            community["adults"].append((pid, compound_id, grid_id, building_id))
                        if age <= 70 and len(community["volunteers"]) < VOLUNTEERS_PER_COMMUNITY \
                                and rng.random() < 0.08:
                            community["volunteers"].append((pid, grid_id))
                    pid += 1
                hid += 1
                h += 1
            self.copy("household", ("id", "unit_id", "room", "building_id", "compound_id", "community_id",
                                    "grid_id", "created_at", "updated_at"), households)
            self.copy("person", ("id", "name", "sex", "id_number", "birth_date", "phone", "ethnicity",
                                 "political_status", "residence_type", "household_id", "relation", "compound_id",
                                 "community_id", "grid_id", "employer", "created_at", "updated_at"), persons)
            community["households"] = len(households)
        self.cur.execute("UPDATE compound c SET households = n FROM (SELECT compound_id, count(*) n FROM household "
                         "GROUP BY compound_id) h WHERE h.compound_id = c.id AND c.households = 0")

    def _existing_people(self, community) -> None:
        """The demo community's adults (requesters) and 100 of them not yet volunteering."""
        rows = self.cur.execute(
            "SELECT p.id, p.compound_id, p.grid_id, h.building_id, p.birth_date, "
            "       EXISTS (SELECT 1 FROM volunteer v WHERE v.person_id = p.id) "
            "FROM person p LEFT JOIN household h ON h.id = p.household_id "
            "WHERE p.community_id = %s AND p.birth_date IS NOT NULL ORDER BY p.id", (community["id"],)).fetchall()
        adults = [r for r in rows if 18 <= self.today.year - r[4].year <= 70]
        community["adults"] = [(r[0], r[1], r[2], r[3]) for r in adults[:3000]]
        free = [r for r in adults if not r[5]]
        picked = self.rng.sample(free, min(VOLUNTEERS_PER_COMMUNITY, len(free))) if free else []
        community["volunteers"] = sorted((r[0], r[2]) for r in picked)
        compounds = self.cur.execute("SELECT id, grid_id FROM compound WHERE community_id = %s ORDER BY id",
                                     (community["id"],)).fetchall()
        community["compounds"] = [(r[0], r[1]) for r in compounds]

    def _family(self, size: int, kind: str):
        """(relation, sex, birth date, name, phone, political status, ethnicity, employer) of
        a household's members: the head, a spouse, children, parents."""
        GIVEN_1, GIVEN_2, SURNAMES = self.given_1, self.given_2, self.surnames
        rng = self.rng
        surname = rng.choice(SURNAMES)
        head_age = rng.randint(24, 86)
        head_sex = rng.choice("12")
        plan = [("02", head_sex, head_age, surname)]
        if size > 1:
            plan.append(("10", "2" if head_sex == "1" else "1", max(20, head_age + rng.randint(-5, 5)),
                         rng.choice(SURNAMES)))
        while len(plan) < size:
            n = len(plan)
            if n >= 4 and head_age < 60:
                sex = "1" if n % 2 else "2"
                plan.append(("51" if sex == "1" else "52", sex, min(99, head_age + rng.randint(22, 32)),
                             rng.choice(SURNAMES)))
            else:
                sex = rng.choice("12")
                plan.append(("20" if sex == "1" else "30", sex, max(0, head_age - rng.randint(22, 38)), surname))
        result = []
        for relation, sex, age, family in plan:
            if rng.random() < 0.55:
                i = rng.randrange(0, len(GIVEN_1) // 2) * 2
                name = family + GIVEN_1[i:i + 2]
            else:
                name = family + rng.choice(GIVEN_2)
            born = datetime.date(self.today.year - age, 1, 1) + datetime.timedelta(days=rng.randrange(0, 360))
            born = min(born, self.today - datetime.timedelta(days=30))
            phone = f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}" if age >= 12 else None
            roll = rng.random()
            politics = "13" if age < 14 else ("01" if roll < 0.06 else "03" if roll < 0.10 and age < 29 else
                                              "12" if roll < 0.13 else "13")
            ethnicity = "01" if rng.random() < 0.95 else rng.choice(ETHNIC_OTHER)
            employer = rng.choice(EMPLOYERS) if 22 <= age <= 60 and rng.random() < 0.35 else None
            result.append((relation, sex, born, name, phone, politics, ethnicity, employer))
        return result

    def _id_number(self, born: datetime.date, sex: str) -> str:
        from app.standards import id_check_char

        rng = self.rng
        while True:  # (about one draw in ten thousand is taken already)
            first17 = (f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(0, 100):02d}"
                       f"{rng.choice('13579' if sex == '1' else '02468')}")
            number = first17 + id_check_char(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    # -- taking units
    def units(self) -> None:
        oid = self.next_id("organisation")
        rows = []
        existing = dict.fromkeys(c["id"] for c in self.communities)
        for community_id, ids in self._existing_units().items():
            existing[community_id] = ids
        for community in self.communities:
            if community["new"]:
                community["takers"] = []
                for kind, label in UNIT_TYPES:
                    created = self.stamp(900)
                    rows.append((oid, f"{community['name']}{label}", kind, f"/{oid}/", self.street_id,
                                 community["id"], created, created))
                    community["takers"].append(oid)
                    oid += 1
            else:
                community["takers"] = existing.get(community["id"]) or []
        self.copy("organisation", ("id", "name", "type", "path", "street_id", "community_id", "created_at",
                                   "updated_at"), rows)

    def _existing_units(self) -> dict:
        found: dict = {}
        for org_id, community_id in self.cur.execute(
                "SELECT id, community_id FROM organisation WHERE type IN ('paired_unit', 'resident_unit', "
                "'local_unit') AND community_id IS NOT NULL ORDER BY id"):
            found.setdefault(community_id, []).append(org_id)
        return found

    # -- volunteers and the points ledger
    def volunteers_and_ledger(self) -> None:
        rng = self.rng
        vid = self.next_id("volunteer")
        volunteers = []
        for community in self.communities:
            community["volunteer_rows"] = []
            for person_id, grid_id in community.get("volunteers", []):
                applied = self.today - datetime.timedelta(days=rng.randrange(730, 1100))
                created = datetime.datetime.combine(applied, datetime.time(9))
                volunteers.append((vid, person_id, f"ZY-B{vid:06d}", rng.choice(("理发", "电工", "书法", "家电维修",
                                                                                 "助老", "辅导", None)),
                                   rng.choice(("weekend", "weekday_evening", "weekday_day")), "registered",
                                   applied, applied + datetime.timedelta(days=7), False, 0, community["id"],
                                   grid_id, created, created))
                community["volunteer_rows"].append((vid, grid_id))
                vid += 1
        self.copy("volunteer", ("id", "person_id", "number", "skills", "availability", "status", "applied_on",
                                "approved_on", "publish_name", "points_balance", "community_id", "grid_id",
                                "created_at", "updated_at"), volunteers)
        first_volunteer = volunteers[0][0] if volunteers else None
        all_volunteers = [(v, g, c) for c in self.communities for v, g in c["volunteer_rows"]]
        want = max(0, self.sizes["ledger"] - self.scalar("SELECT count(*) FROM ledger_entry"))
        split = _split(want, len(all_volunteers)) if all_volunteers else []
        lid = self.next_id("ledger_entry")
        start = self.now - datetime.timedelta(days=730)
        span = 730 * 86400 - 3600

        def rows():
            nonlocal lid
            for (volunteer_id, grid_id, community), n in zip(all_volunteers, split):
                actor = self.worker_id if not community["new"] else None
                balance = 0
                step = span / max(1, n)
                for i in range(n):
                    at = start + datetime.timedelta(seconds=int(i * step + rng.random() * step * 0.9))
                    if i % 8 == 7 and balance >= 20:
                        amount = -min(balance, rng.choice((20, 30, 50, 80, 100)))
                        kind, source, note = "redeem", "exchange", "兑换礼品"
                    else:
                        hours = rng.choice((1, 2, 2, 3, 4))
                        amount = hours * 10
                        kind, source, note = "award", "activity", f"志愿服务，{hours}.0 小时"
                    balance += amount
                    yield (lid, volunteer_id, amount, kind, source, None, f"bench:{lid}", balance, note, at,
                           actor, community["id"], grid_id)
                    lid += 1

        self.copy("ledger_entry", ("id", "volunteer_id", "amount", "kind", "source", "source_id", "key",
                                   "balance_after", "note", "at", "actor_id", "community_id", "grid_id"), rows())
        if first_volunteer is not None:
            self.cur.execute(
                "UPDATE volunteer v SET points_balance = l.balance_after FROM ("
                "  SELECT DISTINCT ON (volunteer_id) volunteer_id, balance_after FROM ledger_entry"
                "  WHERE volunteer_id >= %s ORDER BY volunteer_id, at DESC, id DESC) l "
                "WHERE v.id = l.volunteer_id", (first_volunteer,))

    # -- demands
    def demands(self) -> None:
        rng = self.rng
        want = max(0, self.sizes["demands"] - self.scalar("SELECT count(*) FROM demand"))
        split = _split(want, len(self.communities))
        did, eid = self.next_id("demand"), self.next_id("demand_event")
        old_states, old_cum = _weighted(OLD_STATES)
        new_states, new_cum = _weighted(NEW_STATES)
        from seed.people import GIVEN_2, SURNAMES

        events = []

        def rows():
            nonlocal did, eid
            for community, n in zip(self.communities, split):
                adults, compounds, takers = community.get("adults") or [], community["compounds"], community["takers"]
                staff = self.worker_id if not community["new"] else None
                last_in_community = None
                for _ in range(n):
                    filed = self.now - datetime.timedelta(seconds=rng.randrange(600, 365 * 86400))
                    recent = (self.now - filed).days < 30
                    status = rng.choices(new_states if recent else old_states,
                                         cum_weights=new_cum if recent else old_cum)[0]
                    if status == "duplicate" and last_in_community is None:
                        status = "cancelled"
                    if not takers and status not in ("pending", "dispatched", "cancelled", "duplicate"):
                        status = "dispatched"  # nobody could have taken it: it waits in the pool
                    category, category_name, take_hours, resolve_days = rng.choice(self.categories)
                    trouble = rng.choice(TROUBLES)
                    requester = name = phone = None
                    building = None
                    if adults and rng.random() < 0.7:
                        requester, compound, grid, building = rng.choice(adults)
                        if compound is None:
                            compound, grid = rng.choice(compounds) if compounds else (None, None)
                    else:
                        compound, grid = rng.choice(compounds) if compounds else (None, None)
                        name = rng.choice(SURNAMES) + rng.choice(GIVEN_2)
                        phone = f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
                    address = None if compound is not None else "社区附近"
                    dispatched = taken = started = resolved = rated = closed = None
                    due_take = due_resolve = None
                    unit = None
                    in_pool = False
                    rating = result = evidence = cancel = duplicate_of = None
                    progressed = status not in ("pending", "cancelled", "duplicate")
                    if progressed:
                        dispatched = filed + datetime.timedelta(minutes=rng.randrange(20, 30 * 60))
                        due_take = dispatched + datetime.timedelta(hours=take_hours)
                    if status == "dispatched":
                        in_pool = not takers or rng.random() < 0.4
                        unit = None if in_pool else rng.choice(takers)
                    elif progressed:
                        unit = rng.choice(takers) if takers else None
                        taken = dispatched + datetime.timedelta(minutes=rng.randrange(10, 48 * 60))
                        due_resolve = taken + datetime.timedelta(days=resolve_days)
                        if status != "taken":
                            started = taken + datetime.timedelta(minutes=rng.randrange(10, 24 * 60))
                        if status in ("resolved", "rated", "closed"):
                            resolved = started + datetime.timedelta(minutes=rng.randrange(60, 10 * 24 * 60))
                            result, evidence = "已处理完毕，居民确认", "现场照片 2 张"
                        if status in ("rated", "closed"):
                            rated = resolved + datetime.timedelta(hours=rng.randrange(2, 72))
                            rating = rng.choices((5, 4, 3), (60, 32, 8))[0]
                        if status == "closed":
                            closed = rated + datetime.timedelta(hours=rng.randrange(1, 48))
                    if status == "cancelled":
                        cancel = "居民已自行解决"
                    if status == "duplicate":
                        duplicate_of = last_in_community
                    stamps = [t for t in (filed, dispatched, taken, started, resolved, rated, closed) if t]
                    updated = min(max(stamps), self.now)
                    yield (did, f"WH-{filed.year}-{did:06d}", f"{trouble}", f"{trouble}，请尽快安排处理。",
                           category, rng.choice(SOURCES), requester, name, phone, compound, building, address,
                           "urgent" if rng.random() < 0.6 else "long_term",
                           rng.choices(("high", "normal", "low"), (15, 75, 10))[0], status, in_pool, unit,
                           dispatched, staff if dispatched else None, taken, started, resolved, rated, closed,
                           due_take, due_resolve, result, evidence, rating, cancel, duplicate_of,
                           community["id"], grid, filed, updated, staff)
                    events.append((eid, did, filed, staff, None, "create", None, "pending"))
                    eid += 1
                    last_in_community = did
                    did += 1

        self.copy("demand", ("id", "number", "title", "description", "category_id", "source", "requester_id",
                             "requester_name", "requester_phone", "compound_id", "building_id", "address",
                             "demand_class", "priority", "status", "in_pool", "assigned_unit_id", "dispatched_at",
                             "dispatched_by_id", "taken_at", "started_at", "resolved_at", "rated_at", "closed_at",
                             "due_take_at", "due_resolve_at", "result", "evidence", "rating", "cancel_reason",
                             "duplicate_of_id", "community_id", "grid_id", "created_at", "updated_at",
                             "created_by_id"), rows())
        self.copy("demand_event", ("id", "demand_id", "at", "actor_id", "actor_name", "action", "from_status",
                                   "to_status"), events)


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal whole shares (the first ones one larger)."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
