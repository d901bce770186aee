"""Reading groups by organisation: each organisation (by its folded name, as the daily limit and blocks match
it) with its requests counted by state, its people and its last visit; one organisation's requests and
blocks; every block, in force or past. Read-only; a few set-based queries whatever the number of groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, or_, select

from booking.groups import organisation_key
from booking.models import ACTIVE_GROUP_STATES, GroupBlock, GroupBooking, GroupStatus
from museum import db
from museum.models import Account

#: Organisations one listing shows at most (the busiest recent first); a search narrows it.
MAX_ORGANISATIONS = 200


@dataclass
class OrganisationSummary:
    key: str
    #: The name as its latest request spelled it.
    name: str
    requests: int
    by_status: dict[GroupStatus, int]
    #: Members of its approved requests.
    people: int
    #: The latest day an approved group of it visited (up to today).
    last_visit: date | None
    #: The next day a pending or approved group of it comes.
    next_visit: date | None
    #: The last day of a block of the organisation in force, if any.
    blocked_until: date | None = None
    #: How many leader accounts asked for it.
    leaders: int = 0


def list_organisations(
    today: date, search: str = "", limit: int = MAX_ORGANISATIONS, key: str | None = None
) -> list[OrganisationSummary]:
    """Organisations that asked for groups, the latest to ask first; ``search`` matches part of the folded
    name, ``key`` one folded name exactly. Three queries."""
    status = GroupBooking.status
    counted = [func.sum(case((status == state, 1), else_=0)) for state in GroupStatus]
    query = (
        select(
            GroupBooking.organisation_key,
            func.count(GroupBooking.id),
            *counted,
            func.sum(case((status == GroupStatus.APPROVED, GroupBooking.party_size), else_=0)),
            func.max(case(((status == GroupStatus.APPROVED) & (GroupBooking.visit_date <= today),
                           GroupBooking.visit_date))),
            func.min(case((status.in_(ACTIVE_GROUP_STATES) & (GroupBooking.visit_date > today),
                           GroupBooking.visit_date))),
            func.count(func.distinct(GroupBooking.account_id)),
            func.max(GroupBooking.id),
        )
        .group_by(GroupBooking.organisation_key)
        .order_by(func.max(GroupBooking.id).desc())
        .limit(limit)
    )  # fmt: skip
    folded = organisation_key(search or "")
    if folded:
        query = query.where(GroupBooking.organisation_key.contains(folded, autoescape=True))
    if key is not None:
        query = query.where(GroupBooking.organisation_key == key)
    session = db.session()
    rows = session.execute(query).all()
    if not rows:
        return []
    names = dict(session.execute(select(GroupBooking.id, GroupBooking.organisation).where(
        GroupBooking.id.in_([row[-1] for row in rows]))).all())  # fmt: skip
    keys = [row[0] for row in rows]
    blocked = dict(session.execute(
        select(GroupBlock.organisation_key, func.max(GroupBlock.until))
        .where(GroupBlock.organisation_key.in_(keys), GroupBlock.until >= today)
        .group_by(GroupBlock.organisation_key)
    ).all())  # fmt: skip
    summaries = []
    states = list(GroupStatus)
    for found, total, *numbers in rows:
        by_status = {state: int(numbers[index] or 0) for index, state in enumerate(states)}
        people, last_visit, next_visit, leaders, latest = numbers[len(states) :]
        summaries.append(OrganisationSummary(key=found, name=names.get(latest, found), requests=int(total),
                                             by_status=by_status, people=int(people or 0), last_visit=last_visit,
                                             next_visit=next_visit, blocked_until=blocked.get(found),
                                             leaders=int(leaders)))  # fmt: skip
    return summaries


def organisation_summary(key: str, today: date) -> OrganisationSummary | None:
    return next(iter(list_organisations(today, key=key)), None)


@dataclass(frozen=True)
class LedRequest:
    group: GroupBooking
    #: The leader account's e-mail (staff block leaders by it).
    leader_email: str


def organisation_requests(key: str) -> list[LedRequest]:
    """Every request of the organisation, the latest visit first, with its leader's account."""
    rows = (
        db.session()
        .execute(
            select(GroupBooking, Account.email)
            .join(Account, Account.id == GroupBooking.account_id)
            .where(GroupBooking.organisation_key == key)
            .order_by(GroupBooking.visit_date.desc(), GroupBooking.id.desc())
        )
        .unique()
    )
    return [LedRequest(group, email) for group, email in rows]


@dataclass(frozen=True)
class BlockRow:
    block: GroupBlock
    #: The blocked leader account's e-mail, for a block of an account.
    account_email: str | None

    def in_force(self, today: date) -> bool:
        return self.block.until >= today


def _with_accounts():
    return select(GroupBlock, Account.email).outerjoin(Account, Account.id == GroupBlock.account_id)


def organisation_blocks(key: str, leader_ids: list[int]) -> list[BlockRow]:
    """Blocks of the organisation, and of the accounts that led its requests; the newest first."""
    condition = GroupBlock.organisation_key == key
    if leader_ids:
        condition = or_(condition, GroupBlock.account_id.in_(leader_ids))
    query = _with_accounts().where(condition).order_by(GroupBlock.id.desc())
    return [BlockRow(block, email) for block, email in db.session().execute(query)]


def list_all_blocks(today: date, past: bool = False, limit: int = 500) -> list[BlockRow]:
    """Blocks in force (the soonest to end first), or those that ended (the latest first)."""
    query = _with_accounts()
    if past:
        query = query.where(GroupBlock.until < today).order_by(GroupBlock.until.desc(), GroupBlock.id.desc())
    else:
        query = query.where(GroupBlock.until >= today).order_by(GroupBlock.until, GroupBlock.id)
    return [BlockRow(block, email) for block, email in db.session().execute(query.limit(limit))]
