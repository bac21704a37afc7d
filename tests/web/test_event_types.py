"""The browser client subscribes to exactly the event types the server sends."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import tidings.web
from tidings.realtime import events


def test_event_type_list_matches_the_event_union() -> None:
    union = typing.get_args(typing.get_args(events.Event)[0])
    declared = [model.model_fields["type"].default for model in union]
    assert sorted(declared) == sorted(events.EVENT_TYPES)


def test_web_client_listens_to_every_event_type() -> None:
    source = (Path(tidings.web.__file__).parent / "static/js/realtime.js").read_text()
    block = re.search(r"export const EVENT_TYPES = \[(.*?)\];", source, re.S)
    assert block is not None
    assert re.findall(r'"(\w+)"', block.group(1)) == list(events.EVENT_TYPES)
