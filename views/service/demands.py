"""三单 work pages: the demand page (timeline and action buttons), the dispatcher's and
the taker's worklists, the grid worker's quick intake, notifications, and the REST
action endpoints. Every change goes through :func:`models.service.machine.act` or
:func:`models.service.machine.create`; this module only reads input and shows results."""
from __future__ import annotations

import datetime

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app import clock, scope, uploads
from app.api import bounded_int
from app.crud import attempt, flash_errors, public_choice, WithExtras
from app.domain import Conflict, DomainError
from app.extensions import db
from app.security import local_next
from app.registry import entity_permissions, generated_api, generated_view, override, override_api
from models.kernel.places import Building, Community, Compound
from models.people.care import Visit
from models.service import demands, machine, notices, ratings, sweep
from models.kernel.orgs import Organisation, Position
from models.people.people import PartyMember, Person
from models.service.demands import CLASSES, RATINGS, STATUSES, Demand, DemandEvent, DemandPhoto, ServiceCategory
from models.service.machine import ACTION_LABELS, TRANSITIONS
from models.service.notices import Notification

#: the actions offered as buttons, in the order shown
BUTTONS = [machine.DISPATCH, machine.CLAIM, machine.TAKE, machine.START, machine.RESOLVE, machine.DECLINE,
           machine.RATE, machine.CLOSE, machine.REOPEN, machine.MARK_DUPLICATE, machine.CANCEL]
#: actions whose button is red (they end or undo work)
DANGER = {machine.CANCEL, machine.DECLINE, machine.MARK_DUPLICATE, machine.REOPEN}
PHOTO_TYPES = uploads.IMAGE_TYPES
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 6


# ----------------------------------------------------------------------------- input

def _text(values, name, limit=4000):
    value = values.get(name)
    return value.strip()[:limit] if isinstance(value, str) else None


def action_data(action: str, values) -> dict:
    """The data of an action, read from a form or a JSON body; related rows are looked
    up within the acting user's scope (an id outside it is unknown)."""
    data = {"note": _text(values, "note", 1000), "result": _text(values, "result"),
            "evidence": _text(values, "evidence"), "comment": _text(values, "comment", 1000)}
    if action == machine.DISPATCH:
        data["pool"] = values.get("pool") in (True, 1, "1", "true", "on", "yes")
        unit_id = bounded_int(values.get("unit"), low=1) if values.get("unit") not in (None, "") else None
        member_id = bounded_int(values.get("member"), low=1) if values.get("member") not in (None, "") else None
        target = values.get("target")  # the form's choice: pool, unit or member
        if target in ("pool", "unit", "member"):
            data["pool"] = target == "pool"
            unit_id = unit_id if target == "unit" else None
            member_id = member_id if target == "member" else None
            if target != "pool" and unit_id is None and member_id is None:
                raise DomainError(_l("Choose the unit or the party member."))
        if unit_id is not None:
            data["unit"] = db.session.scalars(scope.apply(select(Organisation), Organisation).where(
                Organisation.id == unit_id, Organisation.type.in_(machine.TAKING_UNIT_TYPES))).first()
            if data["unit"] is None:
                raise DomainError(_l("That unit does not exist or does not take orders here."))
        if member_id is not None:
            data["member"] = db.session.scalars(scope.apply(select(PartyMember), PartyMember).where(
                PartyMember.id == member_id)).first()
            if data["member"] is None:
                raise DomainError(_l("That party member does not exist or is outside your scope."))
    if action == machine.RATE:
        data["rating"] = bounded_int(values.get("rating"), low=1, high=5) if values.get("rating") else None
    if action == machine.MARK_DUPLICATE:
        key = str(values.get("original") or "").strip()
        if key:
            condition = Demand.number == key if not key.isdigit() else Demand.id == int(key)
            data["original"] = db.session.scalars(scope.apply(select(Demand), Demand).where(condition)).first()
            if data["original"] is None:
                raise DomainError(_l("No demand %(key)s in your scope.", key=key))
    return {k: v for k, v in data.items() if v not in (None, "")}


def check_photos(files, already: int = 0) -> list[tuple]:
    """The uploaded photos, checked (JPEG, PNG or WebP by their content, 5 MB each, 6 a
    demand): [(filename, type, bytes)], or DomainError and nothing kept. The rules are
    app.uploads'; the messages say "photo", as the page does."""
    files = [f for f in files if f and f.filename]
    if already + len(files) > MAX_PHOTOS:
        raise DomainError(_l("At most %(n)d photos a demand.", n=MAX_PHOTOS), field="photos")
    checked = []
    for upload in files:
        name = uploads.display_name(upload.filename)
        content = uploads.read_limited(upload, MAX_PHOTO_BYTES)
        if content is None:
            raise DomainError(_l("A photo is larger than 5 MB: %(name)s", name=name), field="photos")
        kind = uploads.sniff(content, PHOTO_TYPES)
        if kind is None:
            raise DomainError(_l("Not a JPEG, PNG or WebP photo: %(name)s", name=name), field="photos")
        checked.append(uploads.Checked(name, kind, content))
    return checked


def store_photos(demand, checked, stage: str) -> None:
    """Write checked photos to UPLOAD_FOLDER/demand and record them (committed); if
    that fails, the files written are removed again."""
    stored_names = []
    try:
        for photo in checked:
            stored = uploads.store("demand", photo)
            stored_names.append(stored)
            db.session.add(DemandPhoto(demand_id=demand.id, stage=stage, filename=photo.filename[:200],
                                       stored_as=stored, content_type=photo.content_type,
                                       size=len(photo.content), uploaded_at=clock.now(),
                                       uploaded_by_id=getattr(scope.acting_user(), "id", None)))
        if checked:
            db.session.commit()
    except Exception:
        for stored in stored_names:
            uploads.remove("demand", stored)
        raise


# ----------------------------------------------------------------------------- what a user may do

def available_actions(demand, user) -> list[str]:
    """The actions ``user`` may take on ``demand`` now (the buttons shown), by the same
    rule act() applies; what each needs is asked in its form."""
    return [action for action in BUTTONS if machine.permitted(action, demand, user) is None]


def dispatch_choices():
    """Units that take orders and party members, within the acting user's scope."""
    units = db.session.scalars(scope.apply(select(Organisation), Organisation).where(
        Organisation.type.in_(machine.TAKING_UNIT_TYPES)).order_by(Organisation.name)).all()
    members = db.session.scalars(scope.apply(select(PartyMember), PartyMember).where(
        PartyMember.category == "sinking").options(joinedload(PartyMember.person)).order_by(PartyMember.id)).all()
    return units, members


# ----------------------------------------------------------------------------- the demand pages

_Generated = generated_view(Demand)


@override(Demand)
class DemandView(WithExtras, _Generated):
    show_template = "service/demand.html"
    method_permission_name = {**_Generated.method_permission_name, "act": "read", "photo": "read",
                              "rating_link": "read", "from_visit": "write"}

    def extras(self, item) -> dict:
        """The timeline, the buttons the user may press and what their forms offer."""
        user = scope.acting_user()
        events = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == item.id)
                                    .order_by(DemandEvent.at, DemandEvent.id)).all()
        allowed = available_actions(item, user)
        extra = {"demand": item, "events": events, "allowed": allowed, "labels": ACTION_LABELS, "danger": DANGER,
                 "statuses": STATUSES, "ratings": RATINGS, "photos": list(item.photos),
                 "rating_link": getattr(self, "_new_link", None)}
        if machine.DISPATCH in allowed:
            extra["units"], extra["members"] = dispatch_choices()
        return extra

    @expose("/act/<int:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk, action):
        if action == machine.CLAIM and self.datamodel.get(pk, self._base_filters) is None \
                and machine.taken_from_pool(pk, scope.acting_user()):
            # the pool order left the claimer's view when another took it first: not a 404
            flash(gettext("Someone else has just taken this order."), "warning")
            return redirect(url_for("TakerDeskView.desk", tab="pool"))
        demand = self._visible(pk)
        if action not in TRANSITIONS or action == machine.TIMEOUT:
            abort(404)
        try:
            data = action_data(action, request.form)
            photos = []
            if action == machine.RESOLVE:
                photos = check_photos(request.files.getlist("photos"), len(demand.photos))
                if photos and not data.get("evidence"):
                    data["evidence"] = gettext("%(n)d photos", n=len(photos))
            machine.act(demand, action, scope.acting_user(), **data)
            store_photos(demand, photos, "evidence")
        except Conflict as error:  # another step came first: say which, show the demand as it is
            db.session.rollback()
            flash(str(error.message), "warning")
            if self.datamodel.get(pk, self._base_filters) is None:  # e.g. a pool order another unit took
                return redirect(url_for("TakerDeskView.desk", tab="pool"))
            return redirect(url_for("DemandView.show", pk=pk))
        except DomainError as error:
            db.session.rollback()
            flash_errors(error)
        else:
            flash(gettext("%(action)s: done. The demand is now “%(status)s”.", action=ACTION_LABELS[action],
                          status=STATUSES[demand.status]), "success")
        return redirect(local_next(request.form.get("next")) or url_for("DemandView.show", pk=pk))

    @expose("/rating-link/<int:pk>", methods=["POST"])
    @has_access
    def rating_link(self, pk):
        """A one-use link for the requester to rate, shown once to the staff member."""
        demand = self._visible(pk)
        if not self.appbuilder.sm.has_access("can_rate", "Demand"):
            abort(403)
        if demand.status != demands.RESOLVED:
            flash(gettext("A rating link is made once the demand is resolved."), "warning")
            return redirect(url_for("DemandView.show", pk=pk))
        token = ratings.rating_link(demand)
        self._new_link = url_for("PublicDemandView.rate", token=token, _external=True)
        try:
            return self.show(pk)
        finally:
            self._new_link = None

    @expose("/photo/<int:photo_id>")
    @has_access
    def photo(self, photo_id):
        row = db.session.get(DemandPhoto, photo_id)
        if row is None or self.datamodel.get(row.demand_id, self._base_filters) is None:
            abort(404)
        return uploads.send("demand", row.stored_as, row.filename, row.content_type)

    @expose("/from-visit/<int:visit_id>", methods=["POST"])
    @has_access
    def from_visit(self, visit_id):
        visit = db.session.scalars(scope.apply(select(Visit), Visit).where(Visit.id == visit_id)).first()
        if visit is None:
            abort(404)
        category = db.session.scalars(select(ServiceCategory).where(
            ServiceCategory.id == bounded_int(request.form.get("category"), low=1),
            ServiceCategory.enabled.is_(True))).first() if request.form.get("category") else None
        with attempt() as outcome:
            demand = machine.from_visit(visit, category, scope.acting_user(), title=_text(request.form, "title", 100),
                                        demand_class=request.form.get("demand_class") or None)
        if not outcome.ok:
            return redirect(url_for("VisitView.show", pk=visit_id))
        flash(gettext("Demand %(number)s filed from the visit.", number=demand.number), "success")
        return redirect(url_for("DemandView.show", pk=demand.id))


# ----------------------------------------------------------------------------- REST actions

_GeneratedApi = generated_api(Demand)
ACTION_ENUM = [a for a in TRANSITIONS if a != machine.TIMEOUT]


@override_api(Demand)
class DemandApi(_GeneratedApi):
    method_permission_name = {**_GeneratedApi.method_permission_name, "act": "read"}
    openapi_spec_methods = {"act": {"post": {"summary": "Make a step of the demand's workflow"}}}

    @expose("/<int:pk>/<action>", methods=["POST"])
    @protect()
    @safe
    @permission_name("read")
    def act(self, pk, action):
        """Make one step of the 三单 workflow, by the same rules as the pages.
        ---
        post:
          summary: Make one step of a demand's workflow (dispatch, claim, start, resolve, rate, reopen, cancel…)
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          - in: path
            name: action
            schema:
              type: string
              enum: [dispatch, claim, take, decline, start, resolve, rate, close, cancel, reopen, duplicate]
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    unit: {type: integer, description: "dispatch: the taking unit's id"}
                    member: {type: integer, description: "dispatch: the party member's id"}
                    pool: {type: boolean, description: "dispatch: publish to the pool"}
                    note: {type: string, description: "decline, cancel, reopen: why"}
                    result: {type: string, description: "resolve: what was done"}
                    evidence: {type: string, description: "resolve: what shows it is done"}
                    rating: {type: integer, minimum: 1, maximum: 5, description: "rate: 5 very satisfied … 1"}
                    comment: {type: string, description: "rate: the requester's words"}
                    original: {type: string, description: "duplicate: the number of the original demand"}
          responses:
            200:
              description: the demand after the step
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        if action not in ACTION_ENUM:
            return self.response_404()
        demand = self.datamodel.get(pk, self._base_filters)
        if demand is None and action == machine.CLAIM and machine.taken_from_pool(pk, scope.acting_user()):
            return self.response(409, message={"_": [gettext("Someone else has just taken this order.")]})
        if demand is None:
            return self.response_404()
        body = request.get_json(silent=True)
        if body is None and request.data:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        body = body if isinstance(body, dict) else {}
        try:
            machine.act(demand, action, scope.acting_user(), **action_data(action, body))
        except DomainError as error:
            return self._domain_error(error)
        return self.response(200, result=self.show_model_schema.dump(demand, many=False),
                             status=demand.status, status_label=str(STATUSES[demand.status]))


# ----------------------------------------------------------------------------- worklists

def _page_rows(stmt, page_size=20):
    page = bounded_int(request.args.get("page"), 0, high=10_000)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.options(
        joinedload(Demand.category), joinedload(Demand.compound), joinedload(Demand.assigned_unit),
        joinedload(Demand.assigned_member).joinedload(PartyMember.person))
        .limit(page_size).offset(page * page_size)).unique().all()
    return rows, total, page, max(1, -(-total // page_size))


class DispatchDeskView(BaseView):
    """派单台: what waits for dispatch, what is overdue, what I dispatched."""

    route_base = "/service/dispatch"
    default_view = "desk"
    class_permission_name = "Demand"
    base_permissions = entity_permissions(Demand)
    method_permission_name = {"desk": "dispatch"}
    TABS = {"pending": _l("To be dispatched"), "overdue": _l("Overdue"), "mine": _l("Dispatched by me")}

    @expose("/")
    @has_access
    def desk(self):
        tab = request.args.get("tab") if request.args.get("tab") in self.TABS else "pending"
        user = scope.acting_user()
        now = clock.now()
        base = scope.apply(select(Demand), Demand)
        conditions = {"pending": Demand.status == demands.PENDING,
                      "overdue": sweep.overdue_condition(now),
                      "mine": (Demand.dispatched_by_id == user.id) & Demand.status.in_(demands.OPEN)}
        counted = scope.apply(select(*[func.count().filter(c).label(k) for k, c in conditions.items()])
                              .select_from(Demand), Demand)
        counts = dict(db.session.execute(counted).one()._mapping)
        order = Demand.created_at.asc() if tab != "mine" else Demand.dispatched_at.desc()
        rows, total, page, pages = _page_rows(base.where(conditions[tab]).order_by(order, Demand.id))
        return self.render_template("service/desk.html", title=gettext("Dispatch desk"), tabs=self.TABS, tab=tab,
                                    counts=counts, rows=rows, total=total, page=page, pages=pages, now=now,
                                    endpoint="DispatchDeskView.desk", statuses=STATUSES, classes=CLASSES,
                                    claim=False, empty=_EMPTY[tab])


_EMPTY = {"pending": _l("Nothing waits for dispatch."), "overdue": _l("Nothing is overdue."),
          "mine": _l("No open demand you dispatched."), "orders": _l("You hold no open order."),
          "pool": _l("Nothing in the pool you can take now.")}


def taker_condition(user):
    """Demands given to the user's unit(s) or to the user as a party member."""
    units = select(Position.organisation_id).where(Position.user_id == user.id)
    members = select(PartyMember.id).where(PartyMember.user_id == user.id)
    return or_(Demand.assigned_unit_id.in_(units), Demand.assigned_member_id.in_(members))


def claimable(user, stmt):
    """``stmt`` narrowed to the pool orders ``user`` may claim (category, skills, grid)."""
    pool = stmt.where(Demand.status == demands.DISPATCHED, Demand.in_pool.is_(True))
    units = machine.units_of(user)
    member = machine.member_of(user)
    taking_units = db.session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.id.in_(units), Organisation.type.in_(machine.TAKING_UNIT_TYPES))) if units else 0
    allowed = []
    if taking_units:
        allowed.append(ServiceCategory.takers.in_(("any", "unit")))
    if member is not None:
        skills = [s.strip() for s in (member.skills or "").replace("，", ",").split(",") if s.strip()]
        cond = ServiceCategory.takers.in_(("any", "member")) & or_(ServiceCategory.skill.is_(None),
                                                                   ServiceCategory.skill == "",
                                                                   ServiceCategory.skill.in_(skills))
        if member.grid_id is not None:
            cond = cond & or_(Demand.grid_id.is_(None), Demand.grid_id == member.grid_id)
        allowed.append(cond)
    if not allowed:
        return pool.where(False)
    return pool.join(ServiceCategory, Demand.category_id == ServiceCategory.id).where(or_(*allowed))


class TakerDeskView(BaseView):
    """接单台: my orders and the pool (接单大厅)."""

    route_base = "/service/orders"
    default_view = "desk"
    class_permission_name = "Demand"
    base_permissions = entity_permissions(Demand)
    method_permission_name = {"desk": "claim"}
    TABS = {"orders": _l("My orders"), "pool": _l("Pool")}

    @expose("/")
    @has_access
    def desk(self):
        tab = request.args.get("tab") if request.args.get("tab") in self.TABS else "orders"
        user = scope.acting_user()
        base = scope.apply(select(Demand), Demand)
        mine = base.where(taker_condition(user), Demand.status.in_((demands.DISPATCHED, demands.TAKEN,
                                                                     demands.IN_PROGRESS)))
        pool = claimable(user, base)
        counts = {"orders": db.session.scalar(select(func.count()).select_from(mine.subquery())),
                  "pool": db.session.scalar(select(func.count()).select_from(pool.subquery()))}
        stmt = mine.order_by(Demand.due_resolve_at.is_(None), Demand.due_resolve_at, Demand.id) \
            if tab == "orders" else pool.order_by(Demand.dispatched_at, Demand.id)
        rows, total, page, pages = _page_rows(stmt)
        return self.render_template("service/desk.html", title=gettext("My orders"), tabs=self.TABS, tab=tab,
                                    counts=counts, rows=rows, total=total, page=page, pages=pages, now=clock.now(),
                                    endpoint="TakerDeskView.desk", statuses=STATUSES, classes=CLASSES,
                                    claim=tab == "pool", empty=_EMPTY[tab])


# ----------------------------------------------------------------------------- quick intake

#: what the quick intake form shows; errors on other fields are shown on the place or on top
INTAKE_FIELDS = {"category", "title", "description", "compound", "address", "requester_name", "requester_phone",
                 "demand_class", "source", "photos"}
PLACE_FIELDS = {"building", "community", "grid", "requester", "latitude", "longitude"}


class IntakeView(BaseView):
    """快速登记: a grid worker files a demand from a phone, in one short form."""

    route_base = "/service/intake"
    default_view = "form"
    class_permission_name = "Demand"
    base_permissions = entity_permissions(Demand)
    method_permission_name = {"form": "write"}

    def _choices(self):
        categories = db.session.scalars(select(ServiceCategory).where(ServiceCategory.enabled.is_(True))
                                        .order_by(ServiceCategory.sort, ServiceCategory.id)).all()
        compounds = db.session.scalars(scope.apply(select(Compound), Compound).order_by(Compound.name)).all()
        return categories, compounds

    @expose("/", methods=["GET", "POST"])
    @has_access
    def form(self):
        categories, compounds = self._choices()
        values = request.form if request.method == "POST" else {}
        errors = {}
        if request.method == "POST":
            def pick(model, name):
                key = bounded_int(values.get(name), low=1) if values.get(name) else None
                if key is None:
                    return None
                return db.session.scalars(scope.apply(select(model), model).where(model.id == key)).first()

            category = db.session.scalars(select(ServiceCategory).where(
                ServiceCategory.id == bounded_int(values.get("category"), low=1),
                ServiceCategory.enabled.is_(True))).first() if values.get("category") else None
            demand = Demand(title=_text(values, "title", 100) or "", description=_text(values, "description", 10_000)
                            or "", category=category, source=values.get("source") or "grid_visit",
                            requester=pick(Person, "requester"), requester_name=_text(values, "requester_name", 50),
                            requester_phone=_text(values, "requester_phone", 30), compound=pick(Compound, "compound"),
                            building=pick(Building, "building"), address=_text(values, "address", 200),
                            demand_class=values.get("demand_class") if values.get("demand_class") in CLASSES
                            else demands.URGENT)
            if demand.source not in demands.SOURCES:
                demand.source = "grid_visit"
            try:
                if category is None:
                    raise DomainError(_l("Choose the category."), field="category")
                photos = check_photos(request.files.getlist("photos"))
                machine.create(demand, scope.acting_user())
                store_photos(demand, photos, "intake")
            except DomainError as error:
                db.session.rollback()
                errors = {}
                for key, messages in error.errors().items():
                    # the place the form shows is the compound (or an address)
                    key = "compound" if key in PLACE_FIELDS else key if key in INTAKE_FIELDS else "_"
                    errors.setdefault(key, []).extend(str(m) for m in messages)
            else:
                flash(gettext("Demand %(number)s filed. The community will dispatch it.", number=demand.number),
                      "success")
                return redirect(url_for("IntakeView.form", filed=demand.id))
        filed = None
        if request.args.get("filed"):
            filed = db.session.scalars(scope.apply(select(Demand), Demand).where(
                Demand.id == bounded_int(request.args.get("filed"), low=1))).first()
        return self.render_template("service/intake.html", title=gettext("Quick intake"), categories=categories,
                                    compounds=compounds, values=values, errors=errors, classes=CLASSES,
                                    sources=demands.SOURCES, filed=filed)


# ----------------------------------------------------------------------------- notifications

class NotificationView(BaseView):
    """站内通知 of the signed-in user."""

    route_base = "/service/notifications"
    default_view = "inbox"
    class_permission_name = "Demand"
    base_permissions = entity_permissions(Demand)
    method_permission_name = {"inbox": "read", "read_all": "read", "open": "read"}

    @expose("/")
    @has_access
    def inbox(self):
        user = scope.acting_user()
        stmt = select(Notification).where(Notification.user_id == user.id)
        page = bounded_int(request.args.get("page"), 0, high=10_000)
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.session.scalars(stmt.options(joinedload(Notification.demand))
                                  .order_by(Notification.created_at.desc(), Notification.id.desc())
                                  .limit(30).offset(page * 30)).all()
        return self.render_template("service/notifications.html", title=gettext("Notifications"), rows=rows,
                                    total=total, page=page, pages=max(1, -(-total // 30)))

    @expose("/open/<int:notification_id>", methods=["POST"])
    @has_access
    def open(self, notification_id):
        """Opening a notice marks it read and shows its demand."""
        row = db.session.get(Notification, notification_id)
        if row is None or row.user_id != scope.acting_user().id:
            abort(404)
        if row.read_at is None:
            row.read_at = clock.now()
            db.session.commit()
        return redirect(url_for("DemandView.show", pk=row.demand_id) if row.demand_id else
                        url_for("NotificationView.inbox"))

    @expose("/read-all", methods=["POST"])
    @has_access
    def read_all(self):
        user = scope.acting_user()
        db.session.execute(Notification.__table__.update().where(
            Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=clock.now()))
        db.session.commit()
        flash(gettext("All notifications marked as read."), "success")
        return redirect(url_for("NotificationView.inbox"))


# ----------------------------------------------------------------------------- public pages

#: the most rows of each section of the public list (the newest first)
PUBLIC_ROWS = 200


class PublicDemandView(BaseView):
    """需求清单 and the requester's rating link: no login, no personal data."""

    route_base = "/public"
    default_view = "demands"

    @expose("/demands/")
    @expose("/demands/<int:community_id>")
    def demands(self, community_id=None):
        communities, community = public_choice(Community, community_id)
        load = (joinedload(Demand.category), joinedload(Demand.compound), joinedload(Demand.assigned_unit))
        base = select(Demand).where(Demand.community_id == community.id).options(*load)
        counts = dict(db.session.execute(
            select(Demand.demand_class, func.count()).where(Demand.community_id == community.id,
                                                            Demand.status.in_(demands.OPEN))
            .group_by(Demand.demand_class)).all())
        sections = {}
        for key in (demands.URGENT, demands.LONG_TERM):
            sections[key] = db.session.scalars(base.where(
                Demand.status.in_(demands.OPEN), Demand.demand_class == key)
                .order_by(Demand.created_at.desc(), Demand.id.desc()).limit(PUBLIC_ROWS)).unique().all()
        since = clock.now() - datetime.timedelta(days=30)
        done_rows = db.session.scalars(base.where(
            Demand.status.in_(demands.FINISHED), Demand.resolved_at >= since)
            .order_by(Demand.resolved_at.desc(), Demand.id.desc()).limit(PUBLIC_ROWS)).unique().all()
        return self.render_template("public/demands.html", community=community, communities=communities,
                                    urgent=sections[demands.URGENT], long_term=sections[demands.LONG_TERM],
                                    urgent_count=counts.get(demands.URGENT, 0),
                                    long_term_count=counts.get(demands.LONG_TERM, 0), limit=PUBLIC_ROWS,
                                    done=done_rows, statuses=STATUSES, now=clock.now(),
                                    app_name=self.appbuilder.app_name)

    @expose("/rate/<token>", methods=["GET", "POST"])
    def rate(self, token):
        row = ratings.rating_token(token)
        if request.method == "POST" and row is not None:
            rating = bounded_int(request.form.get("rating"), low=1, high=5) if request.form.get("rating") else None
            try:
                ratings.rate_by_token(token, rating, _text(request.form, "comment", 1000))
            except DomainError as error:
                db.session.rollback()
                message = list(error.errors().values())[0][0]
                return self.render_template("public/rate.html", row=row, error=str(message), ratings=RATINGS,
                                            done=False, app_name=self.appbuilder.app_name), 400
            return self.render_template("public/rate.html", row=row, ratings=RATINGS, done=True, error=None,
                                        app_name=self.appbuilder.app_name)
        if row is None:
            return self.render_template("public/rate.html", row=None, ratings=RATINGS, done=False,
                                        error=gettext("This rating link is not valid (used or expired)."),
                                        app_name=self.appbuilder.app_name), 404
        return self.render_template("public/rate.html", row=row, ratings=RATINGS, done=False, error=None,
                                    app_name=self.appbuilder.app_name)


# ----------------------------------------------------------------------------- registration

def install(appbuilder) -> None:
    # the menu bar's unread count (the engine shows none unless a context gives it)
    current_app.jinja_env.globals["unread_notices"] = notices.unread_for_navbar
    appbuilder.add_view(DispatchDeskView, "DispatchDesk", label=_l("Dispatch desk"), icon="fa-random",
                        category="service")
    appbuilder.add_view(TakerDeskView, "TakerDesk", label=_l("My orders"), icon="fa-hand-paper-o",
                        category="service")
    appbuilder.add_view(IntakeView, "DemandIntake", label=_l("Quick intake"), icon="fa-pencil-square-o",
                        category="service")
    appbuilder.add_view(NotificationView, "Notifications", label=_l("Notifications"), icon="fa-bell",
                        category="service")
    appbuilder.add_view_no_menu(PublicDemandView)
