"""What Piccolo's migration machinery looks up (``PICCOLO_CONF=server.piccolo_conf``).

``DB`` is replaced by ``server.db.use_engine`` when the app or a test picks its database.
"""

from piccolo.conf.apps import AppRegistry

from server.db import engine_for
from server.settings import Settings

DB = engine_for(Settings.from_env())
APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])
