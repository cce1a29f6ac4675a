from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User


class Photo(Table):
    """A photo blob, addressed by the SHA-256 of its bytes; the file lives in the media dir."""

    sha256 = Varchar(length=64, primary_key=True)
    mime = Varchar(length=16)
    size = Integer()
    uploaded_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
