"""The service categories of the seed document; admins edit them later."""

from __future__ import annotations

# (code, Chinese name, English name, quantity unit zh, quantity unit en)
SEED: list[tuple[str, str, str, str, str]] = [
    ("policy_publicity", "政策宣传", "Policy publicity", "户", "households"),
    ("straw_burning", "秸秆禁烧", "Straw-burning prevention", "亩", "mu"),
    ("harvester_contact", "联系收割机", "Contacting harvesters", "亩", "mu"),
    ("traffic_direction", "疏导车辆", "Directing vehicles", "车次", "vehicle trips"),
    ("straw_hauling", "摊拉秸秆", "Spreading and hauling straw", "吨", "tonnes"),
    ("irrigation_check", "水利设施检查", "Irrigation checks", "", ""),
    ("water_delivery", "送水送物", "Water and goods delivery", "户", "households"),
    ("policy_consultation", "政策咨询", "Policy consultation", "", ""),
    ("arts_publicity", "文艺宣传", "Arts publicity", "", ""),
    ("health", "医疗卫生", "Health", "", ""),
    ("tech_guidance", "科技指导", "Technology guidance", "", ""),
    ("employment", "劳动就业", "Employment", "", ""),
    ("warmth_visit", "送温暖献爱心", "Warmth visits", "户", "households"),
    ("family_education", "家庭教育指导", "Family-education counselling", "", ""),
    ("mediation", "民事调解", "Dispute mediation", "", ""),
    ("grid_patrol", "网格排查", "Grid patrol and problem finding", "", ""),
]

INSERT = (
    "INSERT INTO category (code, name, name_en, quantity_unit, quantity_unit_en, active,"
    " sort_order, change_seq) VALUES ({}, {}, {}, {}, {}, {}, {}, 0)"
)


async def seed_categories(table) -> None:
    """Insert the seed categories that are missing (by code); ``table`` runs the raw SQL."""
    existing = {r["code"] for r in await table.raw("SELECT code FROM category")}
    for order, (code, name, name_en, unit, unit_en) in enumerate(SEED):
        if code not in existing:
            await table.raw(INSERT, code, name, name_en, unit, unit_en, True, (order + 1) * 10)
