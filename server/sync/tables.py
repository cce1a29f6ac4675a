from piccolo.columns import BigInt
from piccolo.table import Table


class SyncCounter(Table):
    """A single row. Every write that a phone must see bumps it inside its transaction.

    The row lock serialises the bumps, so change numbers become visible in commit order and a
    pull reading ``value`` never skips a change that commits later with a smaller number.
    """

    value = BigInt(default=0)
