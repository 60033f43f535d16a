"""The rules file: shipped defaults, a user's own file, and the mistakes it must refuse."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from matching.notify import AllowedWindow, NotifyRules, RulesError, load_rules, window_for


def test_the_shipped_defaults() -> None:
    rules = load_rules()
    assert rules.default_timezone == "America/New_York"
    assert rules.window == AllowedWindow(time(8), time(21))
    assert rules.daily_cap == 3
    assert rules.cap_window_hours == 24
    assert rules.opt_in_tags == ("sms_opt_in",)
    assert sorted(rules.states) == ["FL", "MD", "OK"]
    for rule in rules.states.values():
        assert rule.window == AllowedWindow(time(8), time(20))
        assert rule.daily_cap == 3
        assert rule.note
    assert rules.sms_template is None


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "sms_rules.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_a_users_file_adds_a_state_and_changes_the_cap(tmp_path: Path) -> None:
    path = write(tmp_path, {
        "default_timezone": "America/Chicago",
        "daily_cap": 2,
        "opt_in_tags": [" Text-OK ", "sms_opt_in"],
        "states": {"tx": {"window": {"start": "09:00", "end": "20:00"}, "note": "house rule"}},
    })  # fmt: skip
    rules = load_rules(path)
    assert rules.default_timezone == "America/Chicago"
    assert rules.daily_cap == 2
    assert rules.opt_in_tags == ("text-ok", "sms_opt_in")
    assert window_for(state="TX", rules=rules) == AllowedWindow(time(9), time(20))
    assert window_for(state="FL", rules=rules) == AllowedWindow(time(8), time(21))  # not listed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"states": {"ZZ": {}}}, "unknown state codes"),
        ({"window": {"start": "21:00", "end": "08:00"}}, "must be before"),
        ({"window": {"start": "08:00", "end": "08:00"}}, "must be before"),
        ({"default_timezone": "Eastern"}, "not an IANA time zone"),
        ({"daily_caps": 3}, "daily_caps"),  # a typo is an error, not a silent default
        ({"daily_cap": -1}, "daily_cap"),
        ({"opt_in_tags": [" "]}, "opt-in tag"),
        ({"sms_template": "Hi $nme $link"}, "unknown placeholders"),
        ({"sms_template": "No link here"}, "link"),
        ({"states": {"FL": {"window": {"start": "21:30", "end": "23:00"}}}}, "does not overlap"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_files_are_refused_at_load(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules(write(tmp_path, data))


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(RulesError, match=r"nope\.json"):
        load_rules(missing)


def test_rules_built_in_code_match_the_shipped_file_apart_from_states() -> None:
    assert NotifyRules().model_dump(exclude={"states"}) == load_rules().model_dump(
        exclude={"states"}
    )
