"""The browser client subscribes to exactly the event types the server sends."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import tidings.web
from tidings import events
from tidings.realtime.events import EventData, durable_event_types


def test_event_type_list_matches_the_event_union() -> None:
    union = typing.get_args(typing.get_args(events.Event)[0])
    declared = [model.model_fields["type"].default for model in union]
    assert sorted(declared) == sorted(events.EVENT_TYPES)
    assert len(set(declared)) == len(declared)


def test_every_event_model_a_domain_declares_is_registered() -> None:
    """An event model its domain forgot to register would be missing from the list."""
    for module in events.DOMAIN_EVENT_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, EventData) and value is not EventData:
                known = (*events.EVENT_MODELS, *events.EPHEMERAL_EVENT_MODELS)
                assert value in known, f"{value.__qualname__} is not registered"
    assert set(events.EVENT_TYPES) <= set(durable_event_types())


def test_web_client_listens_to_every_event_type() -> None:
    source = (Path(tidings.web.__file__).parent / "static/js/realtime.js").read_text()
    block = re.search(r"export const EVENT_TYPES = \[(.*?)\];", source, re.S)
    assert block is not None
    assert sorted(re.findall(r'"(\w+)"', block.group(1))) == sorted(events.EVENT_TYPES)
    block = re.search(r"export const EPHEMERAL_EVENT_TYPES = \[(.*?)\];", source, re.S)
    assert block is not None
    assert sorted(re.findall(r'"(\w+)"', block.group(1))) == sorted(events.EPHEMERAL_EVENT_TYPES)


def test_ephemeral_and_durable_event_types_are_apart() -> None:
    assert not set(events.EVENT_TYPES) & set(events.EPHEMERAL_EVENT_TYPES)
    assert {"typing", "presence", "read_receipt"} <= set(events.EPHEMERAL_EVENT_TYPES)
