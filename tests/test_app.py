from server import db


async def test_migrated_database_has_seed_categories(settings):
    from server.records.tables import Category

    codes = await Category.select(Category.code).output(as_list=True)
    assert "straw_burning" in codes and len(codes) == 16
    assert await db.pending_migrations() == []


async def test_world_builds(world):
    assert world.tokens["vol_wang"]
