import os

from piccolo.conf.apps import AppConfig

from server.accounts.tables import Device, EnrolmentCode, Membership, Team, Unit, User
from server.audit.tables import AuditEvent
from server.media.tables import Photo
from server.records.tables import Activity, Category, RecordCompanion, RecordPhoto, ServiceRecord
from server.sync.tables import SyncCounter

TABLES = [
    Unit,
    Team,
    User,
    Membership,
    Device,
    EnrolmentCode,
    Category,
    Activity,
    ServiceRecord,
    RecordCompanion,
    RecordPhoto,
    Photo,
    AuditEvent,
    SyncCounter,
]

APP_CONFIG = AppConfig(
    app_name="fieldlog",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=TABLES,
)
