"""The test world: the demo units, teams and people, with a device token for each person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.accounts.auth import issue_device_token
from server.demo import DemoIds, load_demo


@dataclass
class World:
    ids: DemoIds
    tokens: dict[str, str] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)

    def user(self, key: str) -> int:
        return self.ids.users[key]

    def team(self, code: str) -> int:
        return self.ids.teams[code]

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[key]}"}


async def build_world() -> World:
    world = World(ids=await load_demo(with_passwords=False))
    for key in world.ids.users:
        world.tokens[key], world.devices[key] = await issue_device_token(world.user(key), "test")
    return world


def new_id() -> str:
    return str(uuid.uuid4())


def record(world: World, author: str = "vol_wang", team: str = "NC-TRUCK", **over) -> dict:
    """A valid record as a phone would send it."""
    when = datetime.now(UTC) - timedelta(hours=2)
    body = {
        "id": new_id(),
        "team_id": world.team(team),
        "category": "straw_burning",
        "occurred_at": when.isoformat(),
        "duration_min": 90,
        "place": "张华楼村东地",
        "beneficiaries": 12,
        "description": "田间巡查,劝阻焚烧秸秆",
        "source": "live",
    }
    body.update(over)
    return body
