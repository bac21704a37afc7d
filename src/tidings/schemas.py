"""Base classes shared by every domain's schemas, and the error body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import emoji
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from tidings.errors import Unprocessable

MAX_ID = 2**31 - 1
"""The largest row id: ids are 32-bit integer columns, and PostgreSQL refuses a larger bound
parameter outright (an error, not an empty result), so larger ids are invalid input."""


def _json_integer(value: object) -> object:
    # Lax mode would take ``true`` for 1 and ``"5"`` for 5, which the schema ("integer") refuses;
    # 5.0 is an integer to JSON Schema and stays one.
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


DbId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
"""A row id in a request body."""

JsonBool = Annotated[bool, Strict()]
"""A boolean in a request body: ``true`` or ``false`` (lax mode would take 0, 1 and "yes",
which the schema, "boolean", refuses)."""

WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
"""Unicode's White_Space characters: what trimming removes (as pydantic's ``strip_whitespace``
does; Python's ``str.strip()`` also removes U+001C to U+001F)."""
WHITE_SPACE_CLASS = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""``WHITE_SPACE`` inside a regex character class, spelled so that every engine reads it alike:
``\\s`` is not (ECMA's has U+FEFF and not U+0085, Rust's the reverse, Python's more)."""
NO_NUL = r"^[^\x00]*$"


def trim(value: str) -> str:
    return value.strip(WHITE_SPACE)


BIDI_CONTROLS_CLASS = r"\u202a-\u202e\u2066-\u2069"
"""Unicode's explicit directional embeddings, overrides and isolates (inside a character class).
In a name they reorder the sentence it is shown in ("alice added bob" read backwards, a name
that seems to say something else), so names refuse them; text in a bubble of its own may hold
them."""
BIDI_CONTROLS = re.compile(f"[{BIDI_CONTROLS_CLASS}]")


def trimmed_text(max_length: int, forbidden: str = "") -> str:
    """The pattern of text that has 1 to ``max_length`` characters once ``trim``med, and no NUL
    (nor any of the character class ``forbidden``): what a field that trims declares, since
    ``minLength`` and ``maxLength`` count the white space that trimming removes."""
    ws, text, any_char = (
        WHITE_SPACE_CLASS,
        rf"\x00{forbidden}{WHITE_SPACE_CLASS}",
        rf"\x00{forbidden}",
    )
    return rf"^[{ws}]*[^{text}](?:[^{any_char}]{{0,{max_length - 2}}}[^{text}])?[{ws}]*$"


@dataclass(frozen=True)
class Trimmed:
    """``Annotated[str, Trimmed(n)]``: text trimmed of white space at both ends, then 1 to ``n``
    characters (NUL is refused by ``Schema``).

    The schema declares it as the pattern ``trimmed_text`` (what ``minLength`` and ``maxLength``
    cannot say); validation checks it in Python: a regex with a counted repetition of thousands
    costs ~50 ns per character in pydantic's engine (217 µs for a 4,000-character message),
    this ~1 µs whatever the length."""

    max_length: int
    allow_empty: bool = False
    """Also accept text that is empty once trimmed (a message sent with attachments only)."""
    name: bool = False
    """A name, shown inside sentences: no directional controls (``BIDI_CONTROLS``)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        pattern = trimmed_text(self.max_length, BIDI_CONTROLS_CLASS if self.name else "")
        if self.allow_empty:
            pattern = rf"^[{WHITE_SPACE_CLASS}]*$|{pattern}"
        return {**handler(schema), "pattern": pattern}

    def _validate(self, value: str) -> str:
        trimmed = trim(value)
        if not trimmed and not self.allow_empty:
            raise PydanticCustomError("string_too_short", "must not be empty or only white space")
        if len(trimmed) > self.max_length:
            raise PydanticCustomError(
                "string_too_long",
                "must have at most {max_length} characters",
                {"max_length": self.max_length},
            )
        if self.name and BIDI_CONTROLS.search(trimmed):
            raise PydanticCustomError(
                "string_pattern_mismatch",
                "must not contain directional control characters (U+202A to U+202E, U+2066 to "
                "U+2069): they would reorder the text around the name",
            )
        return trimmed


@dataclass(frozen=True)
class _BlankMeans:
    default: object

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"const": ""}]}

    def _validate(self, value: object) -> object:
        return self.default if value == "" else value


def blank_means(default: object) -> _BlankMeans:
    """For an optional query parameter: an empty value (``?limit=``) means its default, and the
    schema says an empty value is valid.

    That is what an empty form field or a URL template such as ``?unread_only=&limit=`` sends.
    """
    return _BlankMeans(default)


def _declare_no_nul(schema: dict[str, Any]) -> None:
    """What ``Schema._no_nul_characters`` refuses, said in the JSON schema: a string field's own
    pattern (a username's, a trimmed text's) excludes NUL already."""
    for field in schema.get("properties", {}).values():
        for option in [field, *field.get("anyOf", ())]:
            if option.get("type") == "string" and "const" not in option and "enum" not in option:
                option.setdefault("pattern", NO_NUL)


class Schema(BaseModel):
    """Strict request schema: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_declare_no_nul)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text; refuse it on every backend alike.
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("must not contain NUL (U+0000) characters")
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800")
                    raise ValueError("must be valid Unicode (no lone surrogates)") from None
        return value


class ViewSchema(BaseModel):
    """Response schema, built from ORM rows or dicts."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    """Every 4xx answer: a human-readable ``detail`` and a stable machine ``code``."""

    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


Emoji = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    Field(description="Exactly one emoji (skin tones, flags and ZWJ sequences included)"),
]
"""An emoji as a path or body names it; ``one_emoji`` checks it is exactly one."""


_FULLY_QUALIFIED = emoji.STATUS["fully_qualified"]
_EMOJI_BY_BARE_FORM: dict[str, str] = {
    text.replace("\ufe0f", ""): text
    for text, data in emoji.EMOJI_DATA.items()
    if data["status"] == _FULLY_QUALIFIED
}
"""Every fully-qualified emoji by its form without variation selectors (U+FE0F): ``❤`` and
``❤️`` are one emoji, stored as ``❤️``."""


def one_emoji(value: str) -> str:
    """``value`` as one fully-qualified emoji (``❤`` becomes ``❤️``, so both count as one
    reaction), else 422 ``not_an_emoji``: a rule the schema cannot state. A lone component (a
    skin tone, a hair style) is not an emoji of its own."""
    found = _EMOJI_BY_BARE_FORM.get(value.replace("\ufe0f", ""))
    if found is None:
        raise Unprocessable(
            f"{value!r} is not one emoji: react with exactly one.", code="not_an_emoji"
        )
    return found
