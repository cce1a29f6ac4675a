"""Seed the service categories named in the seed document."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from server.records.categories import seed_categories

ID = "2026-11-26T09:10:24:000000"
VERSION = "1.38.0"
DESCRIPTION = "seed categories"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="fieldlog", description=DESCRIPTION)

    async def run():
        await seed_categories(RawTable)

    manager.add_raw(run)
    return manager
