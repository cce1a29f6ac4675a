from piccolo.columns import JSON, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import Device, User


class AuditEvent(Table):
    """Who did what to which record, with the record before and after."""

    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor = ForeignKey(User, null=True, default=None)
    device = ForeignKey(Device, null=True, default=None)
    action = Varchar(length=32)
    # No foreign key: the trail outlives the row it talks about.
    record_id = Varchar(length=36, null=True, default=None, index=True)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
