"""Every setting Fieldlog reads, from ``FIELDLOG_*`` environment variables.

Each field's docstring is its documentation; ``docs/configuration.md`` must name every field
(a test checks it). Tests build ``Settings`` directly instead of touching the environment.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

PREFIX = "FIELDLOG_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    """Folder for the SQLite file, the generated secret key and (by default) uploaded photos."""

    database_url: str = ""
    """``sqlite:///path`` or ``postgresql://user@host/db``; empty: ``<data_dir>/fieldlog.sqlite``"""

    host: str = "127.0.0.1"
    """Address ``fieldlog serve`` listens on."""

    port: int = 8000
    """Port ``fieldlog serve`` listens on."""

    timezone: str = "Asia/Shanghai"
    """IANA time zone in which service times are shown and months are counted."""

    secret_key: str = ""
    """Signs sessions and CSRF tokens; generated once into ``<data_dir>/secret_key`` when unset."""

    media_dir: Path | None = None
    """Folder for uploaded photos; unset means ``<data_dir>/media``."""

    demo: bool = False
    """Demo mode: ``serve`` loads the demo units, teams and people on first start; the UI says so"""

    debug: bool = False
    """Show tracebacks in error pages (never in production)."""

    token_days: int = 180
    """A device token expires this many days after its last use."""

    enrol_code_hours: int = 72
    """An enrolment code printed by ``fieldlog enrol`` is valid this long and only once."""

    login_rate_per_minute: int = 30
    """Login and enrolment attempts allowed per client address per minute."""

    login_failures_per_phone: int = 5
    """Failed password sign-ins allowed per phone number in ``login_failure_minutes``."""

    login_failure_minutes: int = 15
    """Window in which ``login_failures_per_phone`` failures lock a phone number's sign-in."""

    hash_concurrency: int = 2
    """Most argon2 password checks (64 MiB each) one server process runs at once."""

    push_max_records: int = 500
    """Most records (plus activities) accepted in one ``/sync/push`` batch."""

    push_max_bytes: int = 8_000_000
    """Largest ``/sync/push`` body accepted, after gzip decoding."""

    photo_max_bytes: int = 5_000_000
    """Largest photo accepted by ``PUT /photos/{sha256}``."""

    clock_skew_seconds: int = 300
    """A batch whose phone clock is further off than this is stored with the skew flagged."""

    future_tolerance_seconds: int = 600
    """How far in the future a service time may be (against the phone's clock when it is skewed)."""

    pull_page_size: int = 1000
    """Most records one ``/sync/pull`` answer carries; the rest follow with ``more: true``."""

    session_cookie_secure: bool = False
    """Send the console session cookie only over HTTPS (set true behind TLS)."""

    db_pool_size: int = 10
    """Most PostgreSQL connections one server process holds."""

    workers: int = 1
    """Uvicorn worker processes for ``fieldlog serve``."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'fieldlog.sqlite').resolve()}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgresql://", "postgres://"))

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f, raw)
        return cls(**values)  # type: ignore[arg-type]

    def with_secret(self) -> Settings:
        """Fill ``secret_key`` from the data dir, generating and keeping one on first use."""
        if self.secret_key:
            return self
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return dataclasses.replace(self, secret_key=path.read_text().strip())


def _parse(f: dataclasses.Field, raw: str) -> object:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            if raw.lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes", "on"}
        if kind == "int":
            return int(raw)
        if kind.startswith("Path"):
            return Path(raw)
    except ValueError:
        raise SystemExit(f"{PREFIX}{f.name.upper()}={raw!r} is not a valid {kind}") from None
    return raw


def all_setting_names() -> list[str]:
    return [PREFIX + f.name.upper() for f in dataclasses.fields(Settings)]
