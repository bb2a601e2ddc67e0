"""What the apps built on messaging add to its numbers and its inbox (messaging never imports them).

Like messaging/hooks.py, a small explicit registry: an app registers its extensions in its AppConfig.ready(), so what
it adds is greppable in one place per app. Two kinds:

Number fields (`NumberExtension`): fields an app keeps about a WhatsApp number in its own tables (automation: the
number's `bot_id` and `flow_id`, in automation.NumberAutomation). Messaging shows them on every serialized number
(GET numbers/, numbers/{id}, and the answers of POST, PUT and PATCH), takes them in PUT and PATCH numbers/{id}
(messaging.services.numbers.number_update hands them to the extension inside its transaction, after the number's own
fields) and on the number settings page (a group of inputs of its own). An extension declares:

- `input_fields()`: DRF serializer fields (new instances on each call) that PUT/PATCH take; all optional;
- `output_fields()`: read-only DRF fields (new instances) that a number shows; their values come from `read`;
- `read(organization_id, number_ids) -> {number_id: {field: value}}`: the values of many numbers at once (one query
  for a page of numbers); a number missing from the answer shows null for each field;
- `save(number, actor, values)`: store `values` (the input fields given, validated by `input_fields`) inside the
  caller's transaction, under its lock of the organization's numbers; a refusal is a ServiceError whose `errors`
  name the field (a 400, nothing of the update is kept);
- `form_fields(organization_id) -> {name: django.forms.Field}` and `form_legend`: the settings page's inputs (named as
  the input fields, so a refusal lands next to its input).

Daily figures (`DailyFigures`): what an app counts per day for the analytics endpoint's `metrics` (campaigns: the
`broadcasts` figures). `read(org, since, until, tz, number_ids) -> {date: {field: count}}` counts the organization's
rows between the aware datetimes `since` and `until` (excluded), per calendar day in `tz`, on the numbers
`number_ids` (messaging.selectors.access; None: all), in the database; days without rows may be left out. Messaging
declares the fields of each metric (messaging.selectors.dashboard.DAILY_FIELDS): a metric nobody registered counts
0 every day.

Inbox panel sections (`InboxPanelSection`): a template the inbox includes at the end of its contact panel and the
script module the page loads with it. The inbox announces the conversation it shows with a DOM event on `document`:
`inbox:conversation` (`detail`: the conversation in the API's shape, or null when none is open).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class NumberExtension:
    name: str
    input_fields: Callable[[], dict[str, Any]]
    output_fields: Callable[[], dict[str, Any]]
    read: Callable[..., dict[int, dict[str, Any]]]
    save: Callable[..., None]
    form_fields: Callable[..., dict[str, Any]] | None = None
    form_legend: str | Promise = ""


@dataclass(frozen=True)
class InboxPanelSection:
    template: str
    script: str


@dataclass(frozen=True)
class DailyFigures:
    metric: str
    read: Callable[..., Mapping[Any, Mapping[str, int]]]


_number_extensions: dict[str, NumberExtension] = {}
_daily_figures: dict[str, DailyFigures] = {}


def register_daily_figures(figures: DailyFigures) -> None:
    _daily_figures[figures.metric] = figures


def daily_figures(metric: str) -> DailyFigures | None:
    return _daily_figures.get(metric)


_inbox_panel_sections: dict[str, InboxPanelSection] = {}


def register_number_extension(extension: NumberExtension) -> None:
    _number_extensions[extension.name] = extension


def register_inbox_panel_section(section: InboxPanelSection) -> None:
    _inbox_panel_sections[section.template] = section


def inbox_panel_sections() -> list[InboxPanelSection]:
    return list(_inbox_panel_sections.values())


def number_extensions() -> list[NumberExtension]:
    return list(_number_extensions.values())


def number_input_fields() -> dict[str, Any]:
    return {name: field for ext in _number_extensions.values() for name, field in ext.input_fields().items()}


def number_output_fields() -> dict[str, Any]:
    """The extensions' read-only fields, each reading its value from the number's `extension_values` (see load)."""
    fields = {}
    for ext in _number_extensions.values():
        for name, field in ext.output_fields().items():
            field.source = f"extension_values.{name}"
            fields[name] = field
    return fields


def number_values_load(numbers: Iterable) -> None:
    """Give each number (WhatsAppNumber rows) its `extension_values`: {field: value}; one read per extension and
    organization."""
    by_organization: dict[int, list] = {}
    for number in numbers:
        if not hasattr(number, "extension_values"):
            by_organization.setdefault(number.organization_id, []).append(number)
    for organization_id, rows in by_organization.items():
        values: dict[int, dict[str, Any]] = {number.pk: {} for number in rows}
        for ext in _number_extensions.values():
            names = list(ext.output_fields())
            found = ext.read(organization_id=organization_id, number_ids=list(values))
            for number_id, row in values.items():
                row.update({name: found.get(number_id, {}).get(name) for name in names})
        for number in rows:
            number.extension_values = values[number.pk]


def number_values_pop(changes: dict[str, Any]) -> dict[str, Any]:
    """Take the extensions' fields out of `changes` (a number's update) and return them."""
    names = {name for ext in _number_extensions.values() for name in ext.input_fields()}
    return {name: changes.pop(name) for name in list(changes) if name in names}


def number_values_save(*, number, actor, values: Mapping[str, Any]) -> None:
    """Hand each extension the values of its fields among `values`. Must be called inside a transaction."""
    for ext in _number_extensions.values():
        mine = {name: values[name] for name in ext.input_fields() if name in values}
        if mine:
            ext.save(number=number, actor=actor, values=mine)
    if hasattr(number, "extension_values"):
        del number.extension_values  # read again when shown


def number_form_groups(organization_id: int) -> list[tuple[str | Promise, dict[str, Any]]]:
    """(legend, {name: form field}) of each extension with inputs on the number settings page."""
    return [
        (ext.form_legend, ext.form_fields(organization_id=organization_id))
        for ext in _number_extensions.values()
        if ext.form_fields is not None
    ]
