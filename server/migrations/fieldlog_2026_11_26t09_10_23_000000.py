"""Composite indexes and the sync counter's one row (Piccolo's auto migrations make neither)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T09:10:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes, sync counter row"


class RawTable(Table):
    pass


STATEMENTS = [
    'CREATE UNIQUE INDEX membership_user_team ON membership ("user", team)',
    'CREATE UNIQUE INDEX record_companion_pair ON record_companion (record, "user")',
    "CREATE UNIQUE INDEX record_photo_pair ON record_photo (record, sha256)",
    "CREATE INDEX service_record_author_seq ON service_record (author, change_seq, id)",
    "CREATE INDEX service_record_team_time ON service_record (team, occurred_at)",
    "INSERT INTO sync_counter (id, value) VALUES (1, 0)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="fieldlog", description=DESCRIPTION)

    async def run():
        for sql in STATEMENTS:
            await RawTable.raw(sql)

    manager.add_raw(run)
    return manager
