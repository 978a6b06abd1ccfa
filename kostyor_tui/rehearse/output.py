"""A rehearsal's plan through the headless renderer, in every output format.

The plan has sections (`SECTIONS`), each a view like a command's. json and yaml print
the whole plan (or one section); a table prints the summary, the components, the hosts
and the failures, each under a title (the steps with `--section steps`: thousands of
lines); csv, value and shell print one section, the steps unless another is asked for.
"""

from __future__ import annotations

from typing import Any

from kostyor_tui.errors import UsageError
from kostyor_tui.headless.render import OutputOptions, render, render_json_data, render_yaml_data
from kostyor_tui.headless.views import View
from kostyor_tui.rehearse import plan
from kostyor_tui.reports import as_data

ALL = "all"
SECTIONS: dict[str, View] = {
    "summary": View(
        plan.PlanSummary,
        many=False,
        narrow=(
            "cluster",
            "source",
            "from_version",
            "to_version",
            "engine",
            "hosts",
            "instances",
            "steps",
            "durations",
            "predicted_seconds",
            "predicted",
        ),
    ),
    "components": View(
        plan.ComponentWindow,
        many=True,
        narrow=("component", "instances", "mixed_seconds", "mixed"),
    ),
    "hosts": View(plan.HostWindow, many=True, narrow=("host", "services", "start", "end")),
    "failures": View(
        plan.FailureOutcome,
        many=True,
        narrow=(
            "fail_host",
            "stops_at_host",
            "stops_at_service",
            "stops_at",
            "steps_done",
            "steps_not_done",
            "rollback_steps",
            "rollback_hosts",
            "back_at_start",
        ),
    ),
    "steps": View(
        plan.PlannedStep,
        many=True,
        narrow=("number", "direction", "host", "service", "outcome", "start", "end"),
    ),
}
SECTION_CHOICES: tuple[str, ...] = (ALL, *SECTIONS)
_TITLES = {
    "summary": "Rehearsal",
    "components": "How long each service runs at mixed versions",
    "hosts": "Hosts, in the order the engine reaches them",
    "failures": "What a failure does",
}
_FLAT_DEFAULT = "steps"


def _section_of(rehearsal: plan.RehearsalPlan, name: str) -> Any:
    return getattr(rehearsal, name)


def check_output(section: str, options: OutputOptions) -> str:
    """The section to print, once the options are known to fit it (before any run)."""
    if section == ALL and options.format in ("csv", "value", "shell"):
        section = _FLAT_DEFAULT
    if section == ALL:
        if options.columns or options.sort_columns:
            raise UsageError("-c and --sort-column apply to one --section (see --help)")
        return section
    view = SECTIONS[section]
    view.select(options.columns)
    if options.sort_columns and not view.many:
        raise UsageError(f"--sort-column applies to a list; the {section} section is not one")
    view.check_sort(options.sort_columns)
    return section


def render_plan(
    rehearsal: plan.RehearsalPlan,
    section: str,
    options: OutputOptions,
    terminal_width: int | None = None,
) -> str:
    section = check_output(section, options)
    if section != ALL:
        return render(_section_of(rehearsal, section), SECTIONS[section], options, terminal_width)
    if options.format == "json":
        return render_json_data(as_data(rehearsal), indent=not options.noindent)
    if options.format == "yaml":
        return render_yaml_data(as_data(rehearsal))
    parts = []
    for name, title in _TITLES.items():
        items = _section_of(rehearsal, name)
        if name == "failures" and not items:
            continue
        text = render(items, SECTIONS[name], options, terminal_width)
        parts.append(f"{title}\n{'=' * len(title)}\n{text}")
    parts.append(
        f"({rehearsal.summary.steps} upgrade steps in the engine's order: --section steps)"
    )
    return "\n\n".join(parts)
