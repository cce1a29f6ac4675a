"""docs/configuration.md must name every setting, and only settings that exist."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from server.settings import PREFIX, Settings, all_setting_names

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
# Read by the test suite, never by the server; the page says so.
TEST_ONLY = {"FIELDLOG_TEST_DB", "FIELDLOG_TEST_POSTGRES_URL"}


def table_rows() -> dict[str, str]:
    """``FIELDLOG_X`` → the rest of its table row."""
    rows = {}
    for line in DOC.read_text().splitlines():
        if m := re.match(r"\|\s*`(FIELDLOG_[A-Z0-9_]+)`\s*\|(.*)", line):
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_setting_has_a_row_with_its_default():
    rows = table_rows()
    missing = [name for name in all_setting_names() if name not in rows]
    assert not missing, f"add these to docs/configuration.md: {missing}"
    for f in dataclasses.fields(Settings):
        default = f.default
        shown = "false" if default is False else "true" if default is True else str(default)
        default_cell = rows[PREFIX + f.name.upper()].split("|")[0]
        if shown in ("", "None"):
            assert "empty" in default_cell, f"{f.name}: say what an empty value means"
        else:
            assert f"`{shown}`" in default_cell, f"{f.name}: the default is {shown!r}"


def test_the_page_names_no_setting_that_does_not_exist():
    named = set(re.findall(r"FIELDLOG_[A-Z0-9_]*[A-Z0-9]", DOC.read_text()))
    unknown = named - set(all_setting_names()) - TEST_ONLY
    assert not unknown, f"docs/configuration.md names settings that do not exist: {unknown}"
