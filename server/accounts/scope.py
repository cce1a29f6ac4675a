"""Who may see whom: the teams a principal's role and scope unit cover.

Admins see everything; a coordinator sees the teams of their scope unit's subtree (one ``LIKE``
on the materialised ``unit.path``); a volunteer sees the teams they are an active member of.
"""

from __future__ import annotations

from server.accounts.auth import Principal
from server.accounts.tables import User
from server.connections import reading

_SUBTREE_TEAMS = (
    "SELECT t.id FROM team t JOIN unit tu ON tu.id = t.unit JOIN unit s ON s.id = ?"
    " WHERE tu.path LIKE s.path || '%'"
)
_MEMBER_TEAMS = 'SELECT team FROM membership WHERE "user" = ? AND active'

# Admins are left out: a coordinator must not be able to sign out the people above them.
_COORDINATOR_SEES_USER = """
SELECT u.id FROM fl_user u, unit s
WHERE u.id = {} AND s.id = {} AND u.role <> 'admin' AND (
  EXISTS (SELECT 1 FROM membership m JOIN team t ON t.id = m.team JOIN unit tu ON tu.id = t.unit
          WHERE m."user" = u.id AND m.active AND tu.path LIKE s.path || '%')
  OR EXISTS (SELECT 1 FROM unit su WHERE su.id = u.scope_unit AND su.path LIKE s.path || '%')
)
"""


async def visible_team_ids(principal: Principal) -> set[int] | None:
    """The ids of the teams ``principal`` may see; ``None`` means all of them (admin)."""
    if principal.role == "admin":
        return None
    if principal.role == "coordinator" and principal.scope_unit is None:
        return set()
    # Every records and sync request asks this: the kept read connection, not the ORM's
    # connection per query.
    async with reading() as db:
        if principal.role == "coordinator":
            rows = await db.fetch(_SUBTREE_TEAMS, principal.scope_unit)
            return {r["id"] for r in rows}
        rows = await db.fetch(_MEMBER_TEAMS, principal.id)
    return {r["team"] for r in rows}


async def can_see_user(principal: Principal, user_id: int) -> bool:
    """Whether ``principal`` may see (and manage the devices of) the person ``user_id``.

    A coordinator covers the active members of the teams in their subtree and the coordinators
    scoped inside it; a volunteer only themselves.
    """
    if principal.id == user_id:
        return True
    if principal.role == "admin":
        return await User.exists().where(User.id == user_id)
    if principal.role == "coordinator" and principal.scope_unit is not None:
        rows = await User.raw(_COORDINATOR_SEES_USER, user_id, principal.scope_unit).run()
        return bool(rows)
    return False
