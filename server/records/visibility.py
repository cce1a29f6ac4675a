"""Which records a person may see, as an SQL condition on alias ``r``.

A volunteer sees their own records; a coordinator the records of the teams their scope covers
(``accounts.scope``: their scope unit's subtree); an admin everything.
"""

from __future__ import annotations

from server.accounts.auth import Principal
from server.accounts.scope import visible_team_ids
from server.db import SQL
from server.records.serialize import any_of


async def visible_condition(db: SQL, who: Principal) -> tuple[str, list]:
    """A WHERE fragment and its arguments."""
    if who.role not in ("admin", "coordinator"):
        return "r.author = ?", [who.id]
    teams = await visible_team_ids(who)
    if teams is None:
        return "1 = 1", []
    return any_of(db, "r.team", sorted(teams))
