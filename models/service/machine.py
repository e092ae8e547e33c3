"""The 三单 state machine: one table of transitions (:data:`TRANSITIONS`) in one place;
every change of a demand goes through :func:`act`, which the pages, the REST action
endpoints, Open311 and the CLI all call. A transition states who may make it, what it
requires, and writes an event on the demand's timeline; a forbidden one raises a
DomainError and changes nothing. A new demand is filed through :func:`create`.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable, Optional

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import clock, domain, scope
from app.extensions import db
from models.kernel.orgs import Organisation, Position
from models.people.people import PartyMember
from models.service.demands import (CANCELLED, CLOSED, DISPATCHED, DUPLICATE, IN_PROGRESS, LONG_TERM, OPEN, PENDING,
                                    RATED, RATINGS, RESOLVED, STATUSES, TAKEN, URGENT, Demand, DemandEvent,
                                    record_event)
from models.service.notices import dispatchers, intake_users, notify, takers_of

DISPATCH, CLAIM, TAKE, DECLINE, START, RESOLVE, RATE, CLOSE, CANCEL, REOPEN, MARK_DUPLICATE, TIMEOUT = (
    "dispatch", "claim", "take", "decline", "start", "resolve", "rate", "close", "cancel", "reopen",
    "duplicate", "timeout")
ACTION_LABELS = {DISPATCH: _l("Dispatch"), CLAIM: _l("Claim from the pool"), TAKE: _l("Take the order"),
                 DECLINE: _l("Decline"), START: _l("Start"), RESOLVE: _l("Resolve"), RATE: _l("Record the rating"),
                 CLOSE: _l("Close"), CANCEL: _l("Cancel"), REOPEN: _l("Reopen"),
                 MARK_DUPLICATE: _l("Mark as duplicate"), TIMEOUT: _l("Back to the pool (not started in time)"),
                 "create": _l("Filed")}


@dataclass(frozen=True)
class Transition:
    sources: tuple
    target: str
    permission: Optional[str]  # named permission on Demand; None: the system only
    who: str  # "staff": any holder; "assignee": the unit or member it is assigned to; "claimer"
    needs: tuple = ()  # data the action must be given
    check: Optional[Callable] = None  # extra condition: (demand, user, data) -> message or None


def _needs_target(demand, user, data):
    if not data.get("pool") and data.get("unit") is None and data.get("member") is None:
        return _l("Choose a unit or a party member, or publish the order to the pool.")
    if data.get("unit") is not None and data.get("member") is not None:
        return _l("Give the order to a unit or to a party member, not both.")
    takers = demand.category.takers if demand.category is not None else "any"
    if data.get("unit") is not None and takers == "member":
        return _l("Orders of this category are taken by party members only.")
    if data.get("member") is not None and takers == "unit":
        return _l("Orders of this category are taken by units only.")
    return None


def _needs_evidence(demand, user, data):
    if not (data.get("evidence") or "").strip():
        return _l("Give the evidence that it is done (what was done, photos).")
    return None


def _rating_value(demand, user, data):
    if data.get("rating") not in RATINGS:
        return _l("Choose a rating from 1 to 5.")
    return None


def _not_itself(demand, user, data):
    original = data.get("original")
    if original is None:
        return _l("Choose the demand it repeats.")
    if original.id == demand.id or original.duplicate_of_id == demand.id:
        return _l("A demand cannot repeat itself.")
    return None


TRANSITIONS: dict[str, Transition] = {
    DISPATCH: Transition((PENDING, DISPATCHED), DISPATCHED, "dispatch", "staff", (), _needs_target),
    CLAIM: Transition((DISPATCHED,), TAKEN, "claim", "claimer"),
    TAKE: Transition((DISPATCHED,), TAKEN, "claim", "assignee"),
    DECLINE: Transition((DISPATCHED, TAKEN), PENDING, "claim", "assignee", ("note",)),
    START: Transition((TAKEN,), IN_PROGRESS, "claim", "assignee"),
    RESOLVE: Transition((TAKEN, IN_PROGRESS), RESOLVED, "claim", "assignee", ("result",), _needs_evidence),
    RATE: Transition((RESOLVED,), RATED, "rate", "staff", (), _rating_value),
    CLOSE: Transition((RATED, RESOLVED), CLOSED, "dispatch", "staff"),
    CANCEL: Transition(OPEN, CANCELLED, "dispatch", "staff", ("note",)),
    REOPEN: Transition((RESOLVED, RATED, CLOSED, CANCELLED, DUPLICATE), PENDING, "dispatch", "staff", ("note",)),
    MARK_DUPLICATE: Transition((PENDING, DISPATCHED), DUPLICATE, "dispatch", "staff", (), _not_itself),
    TIMEOUT: Transition((TAKEN,), DISPATCHED, None, "system"),
}


class TransitionError(Exception):
    pass


def units_of(user) -> list[int]:
    return list(db.session.scalars(select(Position.organisation_id).where(Position.user_id == user.id)))


def member_of(user):
    return db.session.scalars(select(PartyMember).where(PartyMember.user_id == user.id)).first()


def is_assignee(demand, user) -> bool:
    if user is None:
        return False
    if demand.assigned_unit_id is not None and demand.assigned_unit_id in units_of(user):
        return True
    member = member_of(user)
    return member is not None and demand.assigned_member_id == member.id


TAKING_UNIT_TYPES = ("paired_unit", "resident_unit", "local_unit")


def claim_as(demand, user):
    """(unit, member) the user would take the demand as, or a message why not."""
    category = demand.category
    units = units_of(user)
    if units and category.takers in ("any", "unit"):
        unit = db.session.scalars(select(Organisation).where(Organisation.id.in_(units),
                                                             Organisation.type.in_(TAKING_UNIT_TYPES))).first()
        if unit is not None:
            return unit, None
    member = member_of(user)
    if member is not None and category.takers in ("any", "member"):
        skills = {s.strip() for s in (member.skills or "").replace("，", ",").split(",") if s.strip()}
        if category.skill and category.skill not in skills:
            return _l("This category needs the skill “%(skill)s”.", skill=category.skill)
        if demand.grid_id is not None and member.grid_id not in (None, demand.grid_id):
            return _l("Party members take orders of their own grid.")
        return None, member
    return _l("Only partner units and party members registered for this category can take it.")


def permitted(action: str, demand, user) -> Optional[object]:
    """Why ``user`` may not make ``action`` on ``demand`` now (state, role, assignee,
    eligibility), or None. What the action must be given is :func:`missing`'s."""
    from flask import current_app

    transition = TRANSITIONS[action]
    if demand.status not in transition.sources:
        return _l("A demand that is “%(status)s” cannot be “%(action)s”.",
                  status=STATUSES[demand.status], action=ACTION_LABELS[action])
    if transition.who == "system":
        return None if user is None else _l("Only the system does this.")
    if user is None:
        return None  # the command line acts for the office
    held = current_app.appbuilder.sm.permissions_of(user)
    # staff who dispatch may record the start and the result a taker reports by phone
    on_behalf = (action in (START, RESOLVE) and ("can_dispatch", "Demand") in held
                 and not is_assignee(demand, user))
    if not user.is_active or (transition.permission and not on_behalf
                              and (f"can_{transition.permission}", "Demand") not in held):
        return _l("Your role may not do this.")
    if transition.who == "assignee" and not on_behalf and not is_assignee(demand, user):
        return _l("Only the unit or party member the order is given to may do this.")
    if transition.who == "claimer":
        if not demand.in_pool:
            return _l("This order is given to someone; it is not in the pool.")
        taker = claim_as(demand, user)
        if not isinstance(taker, tuple):
            return taker
    return None


def missing(action: str, demand, user, data) -> Optional[object]:
    """What ``data`` lacks for ``action`` (a note, the result, a rating…), or None."""
    transition = TRANSITIONS[action]
    for name in transition.needs:
        if not (str(data.get(name) or "")).strip():
            return {"note": _l("Write a note (why)."), "result": _l("Write the result.")}[name]
    if transition.check is not None:
        return transition.check(demand, user, data)
    return None


def act(demand: Demand, action: str, user=None, *, actor=None, **data) -> Demand:
    """Make ``action`` happen to ``demand`` as ``user`` (None: the system / command line),
    or raise DomainError with the reason; writes the event and the notices, and commits.

    ``actor`` names who did it on the timeline when ``user`` is None (the seed, the
    command line, the requester's rating link); it is never checked. With no user the
    office itself acts: unscoped even inside an anonymous web request."""
    if user is None:
        with scope.as_system():
            return _act(demand, action, None, actor, data)
    return _act(demand, action, user, actor, data)


def _act(demand: Demand, action: str, user, actor, data: dict) -> Demand:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise domain.DomainError(_l("Unknown action."))
    if user is not None and not scope.visible(demand, user):
        if _moved_on(demand):  # out of view because another step came first (a pool order taken)
            raise domain.Conflict(conflict_message(demand, action))
        raise domain.DomainError(_l("The page or record does not exist, or it is outside your data scope."))
    problem = permitted(action, demand, user) or missing(action, demand, user, data)
    if problem is not None:
        raise domain.DomainError(problem)
    if action == CLAIM and user is None and data.get("unit") is None and data.get("member") is None:
        # the command line (user None) claims on behalf of the unit or member it names
        raise domain.DomainError(_l("Choose a unit or a party member, or publish the order to the pool."))
    before = demand.status
    # first of all, one conditional UPDATE on the state the step starts from: of two steps
    # at once (or one made on a page loaded before another's), exactly one goes on
    try:
        domain.claim(demand, before, _l("Someone else has just changed this demand."))
    except domain.Conflict:
        raise domain.Conflict(conflict_message(demand, action)) from None
    now = clock.now()
    notices = []
    if action == CLAIM:
        unit, member = claim_as(demand, user) if user is not None else (data.get("unit"), data.get("member"))
        demand.in_pool, demand.taken_at = False, now
        demand.assigned_unit, demand.assigned_member = unit, member
    elif action == DISPATCH:
        demand.in_pool = bool(data.get("pool")) and data.get("unit") is None and data.get("member") is None
        demand.assigned_unit = data.get("unit")
        demand.assigned_member = data.get("member")
        demand.dispatched_at, demand.dispatched_by_id = now, getattr(user or actor, "id", None)
        demand.due_take_at = now + datetime.timedelta(hours=demand.category.take_hours)
        demand.taken_at = demand.started_at = None
        notices.append(("dispatched", takers_of(demand)))
    elif action == TAKE:
        demand.taken_at = now
    elif action == DECLINE:
        demand.assigned_unit = demand.assigned_member = None
        demand.in_pool, demand.taken_at, demand.started_at = False, None, None
        notices.append(("declined", dispatchers(demand)))
    elif action == START:
        demand.started_at = now
    elif action == RESOLVE:
        demand.result, demand.evidence, demand.resolved_at = data["result"], data.get("evidence"), now
        notices.append(("resolved", intake_users(demand)))
    elif action == RATE:
        demand.rating, demand.rating_comment, demand.rated_at = data["rating"], data.get("comment"), now
    elif action == CLOSE:
        demand.closed_at = now
    elif action == CANCEL:
        demand.cancel_reason = data["note"]
    elif action == REOPEN:
        _clear_progress(demand)
    elif action == MARK_DUPLICATE:
        demand.duplicate_of = data["original"]
    elif action == TIMEOUT:
        demand.assigned_unit = demand.assigned_member = None
        demand.in_pool, demand.taken_at = True, None
        notices.append(("timeout", dispatchers(demand)))
    demand.status = transition.target
    if action == TAKE or action == CLAIM:
        demand.due_resolve_at = now + datetime.timedelta(days=demand.category.resolve_days)
    if action in (DISPATCH, TAKE, CLAIM, REOPEN, TIMEOUT, DECLINE):
        demand.overdue_noticed_at = None  # a new deadline: late again is news again
    domain.save(demand, commit=False)
    record_event(demand, action, user or actor, before, demand.status, data.get("note") or data.get("comment"), now)
    if action == RATE and data["rating"] <= 2:  # a poor rating reopens the demand
        _clear_progress(demand)
        demand.status = PENDING
        record_event(demand, REOPEN, None, RATED, PENDING, None, now)
        notices.append(("reopened", dispatchers(demand)))
    for kind, users in notices:
        notify(users, demand, kind)
    db.session.commit()
    return demand


def _moved_on(demand) -> bool:
    """Whether the demand has changed since ``demand`` was loaded."""
    return db.session.scalar(select(Demand.version).where(Demand.id == demand.id)) != demand.version


def conflict_message(demand, action: str):
    """What the loser of a race is told (after the rollback): what the demand has just
    become, and by which step, e.g. 该需求刚刚已被他人“派单”，现为“已派单”，请刷新后再试。"""
    status = db.session.scalar(select(Demand.status).where(Demand.id == demand.id))
    last = db.session.scalars(select(DemandEvent.action).where(DemandEvent.demand_id == demand.id)
                              .order_by(DemandEvent.id.desc()).limit(1)).first()
    if status is None:
        return _l("This demand has just been deleted.")
    if action == CLAIM and last == CLAIM:
        return _l("Someone else has just taken this order.")
    return _l("This demand has just been “%(action)s” by someone else and is now “%(status)s”. "
              "Please refresh and try again.", action=ACTION_LABELS.get(last, last or ""),
              status=STATUSES.get(status, status))


def taken_from_pool(pk, user) -> bool:
    """A claim that came too late: demand ``pk`` of the user's own community was claimed
    from the pool by someone else, and so left the view of a taker who sees only the pool
    and his own orders. Says no more than the pool showed him a moment ago."""
    if user is None or getattr(user, "scope_community_id", None) is None:
        return False
    demand = db.session.get(Demand, pk)
    if demand is None or demand.community_id != user.scope_community_id or demand.status == DISPATCHED:
        return False
    last = db.session.scalars(select(DemandEvent.action).where(DemandEvent.demand_id == pk)
                              .order_by(DemandEvent.id.desc()).limit(1)).first()
    return last == CLAIM


def _clear_progress(demand) -> None:
    demand.assigned_unit = demand.assigned_member = None
    demand.in_pool = False
    for name in ("dispatched_at", "taken_at", "started_at", "resolved_at", "rated_at", "closed_at",
                 "due_take_at", "due_resolve_at"):
        setattr(demand, name, None)


class _Requester:
    """The requester, rating through the link (no account)."""

    id = None

    def get_full_name(self) -> str:
        return "@requester"


REQUESTER = _Requester()


def create(demand: Demand, user=None, note: str | None = None, *, actor=None, commit: bool = True) -> Demand:
    """File a new demand (intake form, API, Open311, a care visit): validated, numbered,
    with its first event (by ``user`` or ``actor``, else whoever is acting)."""
    demand.status = PENDING
    if demand.created_by_id is None and getattr(user, "id", None) is not None:
        demand.created_by_id = user.id  # filed on someone's behalf outside a request (CLI, jobs)
    demand._filed_by = user or actor
    demand._filing_note = note
    domain.save(demand, commit=False)
    if commit:
        db.session.commit()
    return demand


def from_visit(visit, category, user=None, *, title: str | None = None, demand_class: str | None = None,
               note: str | None = None) -> Demand:
    """A care visit's finding becomes a demand in one step: the resident, the place and
    the finding are the visit's."""
    if not (visit.findings or "").strip():
        raise domain.DomainError(_l("The visit found nothing to act on: write its findings first."))
    if category is None:
        raise domain.DomainError(_l("Choose the category of the demand."))
    person = visit.person
    household = person.household
    demand = Demand(title=(title or visit.findings.strip().splitlines()[0])[:100],
                    description=visit.findings, category=category, source="grid_visit",
                    requester=person, compound=person.compound,
                    building=household.building if household is not None else None, visit=visit,
                    demand_class=demand_class or (URGENT if visit.assessment == "urgent" else LONG_TERM))
    return create(demand, user, note=note or gettext("From the care visit of %(date)s",
                                                     date=visit.visited_on.isoformat()))
