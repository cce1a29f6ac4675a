"""Which teams and people each role covers (the demo world: NC and LH are sibling subtrees)."""

from __future__ import annotations

from server.accounts.auth import principal_for_session
from server.accounts.scope import can_see_user, visible_team_ids
from server.accounts.tables import Membership, Team, Unit, User


async def principal(world, key):
    return await principal_for_session(world.user(key))


async def test_admin_sees_every_team_and_person(world):
    admin = await principal(world, "admin")
    assert await visible_team_ids(admin) is None
    for key in world.ids.users:
        assert await can_see_user(admin, world.user(key))


async def test_coordinator_sees_teams_of_their_subtree_only(world):
    nc = await visible_team_ids(await principal(world, "coord_nc"))
    assert nc == {world.team("NC-TRUCK"), world.team("NC-ZHL-T")}
    lh = await visible_team_ids(await principal(world, "coord_lh"))
    assert lh == {world.team("LH-ZJ-T")}


async def test_coordinator_subtree_is_a_path_prefix_not_a_string_prefix(world):
    # A unit whose id merely starts with NC's id must not fall inside NC's subtree.
    nc = await Unit.select(Unit.id, Unit.path).where(Unit.code == "NC").first()
    rows = await Unit.insert(
        Unit(code="X", name="x", kind="township", path=f"{nc['path'][:-1]}9/")
    ).run()
    await Team.insert(Team(code="X-T", name="x", unit=rows[0]["id"])).run()
    teams = await visible_team_ids(await principal(world, "coord_nc"))
    assert teams == {world.team("NC-TRUCK"), world.team("NC-ZHL-T")}


async def test_coordinator_sees_members_of_their_teams_and_nobody_else(world):
    coord_nc = await principal(world, "coord_nc")
    assert await can_see_user(coord_nc, world.user("vol_wang"))
    assert await can_see_user(coord_nc, world.user("vol_zhao"))
    assert not await can_see_user(coord_nc, world.user("vol_chen"))
    assert not await can_see_user(coord_nc, world.user("coord_lh"))
    assert not await can_see_user(coord_nc, world.user("admin"))
    coord_lh = await principal(world, "coord_lh")
    assert await can_see_user(coord_lh, world.user("vol_chen"))
    assert not await can_see_user(coord_lh, world.user("vol_wang"))


async def test_coordinator_loses_sight_of_someone_who_left_the_team(world):
    await Membership.update({Membership.active: False}).where(
        Membership.user == world.user("vol_li")
    )
    assert not await can_see_user(await principal(world, "coord_nc"), world.user("vol_li"))


async def test_district_coordinator_sees_coordinators_scoped_below(world):
    gc = await Unit.select(Unit.id).where(Unit.code == "GC").first()
    await User.update({User.scope_unit: gc["id"]}).where(User.id == world.user("coord_lh"))
    district = await principal(world, "coord_lh")
    assert await can_see_user(district, world.user("coord_nc"))
    assert len(await visible_team_ids(district)) == 3


async def test_coordinator_without_scope_sees_nothing(world):
    await User.update({User.scope_unit: None}).where(User.id == world.user("coord_nc"))
    coord = await principal(world, "coord_nc")
    assert await visible_team_ids(coord) == set()
    assert not await can_see_user(coord, world.user("vol_wang"))


async def test_volunteer_sees_own_active_teams_and_only_themselves(world):
    wang = await principal(world, "vol_wang")
    assert await visible_team_ids(wang) == {world.team("NC-TRUCK"), world.team("NC-ZHL-T")}
    await Membership.update({Membership.active: False}).where(
        (Membership.user == world.user("vol_wang")) & (Membership.team == world.team("NC-ZHL-T"))
    )
    assert await visible_team_ids(wang) == {world.team("NC-TRUCK")}
    assert await can_see_user(wang, world.user("vol_wang"))
    assert not await can_see_user(wang, world.user("vol_li"))


async def test_hot_lookups_use_the_kept_read_connection(world, monkeypatch):
    # Build the principals first; then any query through Piccolo (a new SQLite connection per
    # call) fails, and the lookups must still answer.
    from server.db import current_engine

    who = {key: await principal(world, key) for key in ("admin", "coord_nc", "vol_zhao")}

    async def no_orm(*args, **kwargs):
        raise AssertionError("went through the ORM")

    monkeypatch.setattr(type(current_engine()), "run_querystring", no_orm)
    assert await principal_for_session(world.user("coord_nc")) == who["coord_nc"]
    assert await visible_team_ids(who["admin"]) is None
    assert await visible_team_ids(who["coord_nc"]) == {
        world.team("NC-TRUCK"),
        world.team("NC-ZHL-T"),
    }
    assert await visible_team_ids(who["vol_zhao"]) == {world.team("NC-ZHL-T")}
