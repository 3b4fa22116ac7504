"""The Jinja2 environment of the report: templates from the package, filters for the page.

Autoescaping is on: every string from the results (scenario names, messages, source lines)
is user text. Only the SVG plots matplotlib drew go in unescaped. A key the results do not
have (an older file, a field another version adds) renders as "not recorded" and is false in
tests, so a missing field can never read as a pass.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

__all__ = ["render"]

_NOT_RECORDED = Markup('<span class="nr">not recorded</span>')


def _missing(value: Any) -> bool:
    import jinja2

    return isinstance(value, jinja2.Undefined) or value in (None, "", [], {})


def _nr(value: Any) -> Any:
    """A missing value says so: never blank, never taken for a pass."""
    return _NOT_RECORDED if _missing(value) else value


def _verdict(value: str | None) -> Markup:
    if _missing(value):
        return _NOT_RECORDED
    return Markup('<span class="v v-{0}">{1}</span>').format(value, value.upper())


def _yes(value: bool | None) -> Markup:
    if _missing(value):
        return _NOT_RECORDED
    return Markup('<span class="yes">yes</span>') if value else Markup('<span class="no">NO</span>')


def _short(value: str | None, length: int = 12) -> Any:
    if not value:
        return _NOT_RECORDED
    return Markup('<code title="{0}">{1}</code>').format(value, value[:length])


def render(page: dict[str, Any]) -> str:
    """The HTML of the report page (``page`` as :func:`build_report` assembles it)."""
    import jinja2

    class NotRecorded(jinja2.ChainableUndefined):
        """A key the results lack (an older file): shown as "not recorded", and false."""

        def __html__(self) -> str:
            return str(_NOT_RECORDED)

        def __str__(self) -> str:
            return str(_NOT_RECORDED)

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("vcommission.reporting.fat", "templates"),
        autoescape=True,
        undefined=NotRecorded,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(nr=_nr, verdict=_verdict, yes=_yes, short=_short)
    environment.globals["svg"] = lambda text: Markup(text)
    environment.globals["escape"] = escape
    return environment.get_template("report.html.j2").render(**page)
