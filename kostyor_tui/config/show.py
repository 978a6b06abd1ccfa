"""Showing settings: `config show` (one profile or `--all`) and `config profiles`.

Secrets are never shown: a secret key reads `********` when set, and a password
written into api_url is redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kostyor_tui.config.settings import PROFILE_KEYS, SECRET_KEYS, Settings, Source
from kostyor_tui.domain.text import REDACTED, redact_url

_WIDTH = 17


def settings_summary(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets redacted, with each value's source."""
    profile = settings.profile
    entries: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        value = getattr(profile, key)
        shown: Any
        if key in SECRET_KEYS:
            shown = REDACTED if value is not None else None
        elif key == "api_url":
            shown = redact_url(value)
        elif isinstance(value, Path):
            shown = str(value)
        else:
            shown = value
        entries[key] = {"value": shown, "set": value is not None, "source": settings.sources[key]}
    entries["insecure"] = {
        "value": settings.insecure,
        "set": settings.insecure,
        "source": "flag" if settings.insecure else "default",
    }
    return {
        "config_path": str(settings.config_path),
        "config_found": settings.config_found,
        "profile": {"value": settings.profile_name, "source": settings.profile_source},
        "settings": entries,
        "keymap": settings.keymap,
        "audit_file": {"value": str(settings.audit_path), "source": settings.audit_source},
        "warnings": list(settings.warnings),
    }


def render_settings(settings: Settings) -> str:
    """The effective settings for `config show`, secrets redacted."""
    summary = settings_summary(settings)
    found = "" if settings.config_found else "  (not found; using defaults)"
    lines = [
        f"{'config file':<{_WIDTH}} {summary['config_path']}{found}",
        _line("profile", settings.profile_name, settings.profile_source),
    ]
    lines += _setting_lines(summary)
    lines.extend(summary["warnings"])
    return "\n".join(lines)


def all_profiles_summary(settings: Settings) -> dict[str, Any]:
    """`config show --all`: every profile's effective settings (as if chosen with
    --profile, flags and environment applied), and which one is in use."""
    profiles: dict[str, Any] = {}
    for name in settings.profile_names or [settings.profile_name]:
        chosen = settings if name == settings.profile_name else settings.with_profile(name)
        summary = settings_summary(chosen)
        profiles[name] = {"settings": summary["settings"], "warnings": summary["warnings"]}
    return {
        "config_path": str(settings.config_path),
        "config_found": settings.config_found,
        "default_profile": settings.file.default_profile,
        "active_profile": {"value": settings.profile_name, "source": settings.profile_source},
        "profiles": profiles,
        "keymap": settings.keymap,
        "audit_file": {"value": str(settings.audit_path), "source": settings.audit_source},
    }


def render_all_profiles(settings: Settings) -> str:
    summary = all_profiles_summary(settings)
    found = "" if settings.config_found else "  (not found; using defaults)"
    lines = [f"{'config file':<{_WIDTH}} {summary['config_path']}{found}"]
    for name, entry in summary["profiles"].items():
        active = "  (in use)" if name == settings.profile_name else ""
        lines += ["", f"[profiles.{name}]{active}"]
        lines += _setting_lines({"settings": entry["settings"]})
        lines.extend(entry["warnings"])
    lines += ["", *_keymap_lines(summary["keymap"])]
    lines.append(_audit_line(summary["audit_file"]["value"], settings.audit_source))
    return "\n".join(line for line in lines).strip("\n")


def profiles_summary(settings: Settings) -> list[dict[str, Any]]:
    """`config profiles`: one entry per profile of the file, as written there (before
    flags and environment), with which is the default and which is in use."""
    rows = []
    for name, profile in settings.file.profiles.items():
        rows.append(
            {
                "name": name,
                "default": name == settings.file.default_profile,
                "active": name == settings.profile_name,
                "api_url": redact_url(profile.api_url),
                "region": profile.region,
                "read_only": profile.read_only,
                "theme": profile.theme,
            }
        )
    return rows


def render_profiles(settings: Settings) -> str:
    rows = profiles_summary(settings)
    if not rows:
        return f"no profiles in {settings.config_path} (the defaults are used)"
    headers = ["", "NAME", "API URL", "REGION", "READ-ONLY", "THEME"]
    table = [
        [
            "*" if row["active"] else "",
            row["name"] + (" (default)" if row["default"] else ""),
            row["api_url"],
            row["region"] or "-",
            "yes" if row["read_only"] else "no",
            row["theme"] or "-",
        ]
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [headers, *table]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        for cells in [headers, *table]
    ]
    return "\n".join(lines)


# Internals


def _setting_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for key, entry in summary["settings"].items():
        lines.append(_line(key, _show_value(key, entry), entry["source"]))
    if "keymap" in summary:
        lines += _keymap_lines(summary["keymap"])
    if "audit_file" in summary:
        audit = summary["audit_file"]
        lines.append(_audit_line(audit["value"], audit["source"]))
    return lines


def _keymap_lines(keymap: dict[str, str]) -> list[str]:
    if not keymap:
        return [f"{'keymap':<{_WIDTH}} (not set)"]
    shown = ", ".join(f"{binding}={keys}" for binding, keys in keymap.items())
    return [f"{'keymap':<{_WIDTH}} {shown}"]


def _audit_line(path: str, source: Source) -> str:
    label = {"env": "environment", "file": "config file"}.get(source, "default")
    return f"{'audit_file':<{_WIDTH}} {path:<40} ({label})"


def _line(key: str, value: str, source: Source) -> str:
    return f"{key:<{_WIDTH}} {value:<40} ({_source_label(source)})"


def _source_label(source: Source) -> str:
    labels = {
        "flag": "flag",
        "env": "environment",
        "profile": "profile",
        "file": "default_profile",
        "default": "default",
    }
    return labels[source]


def _show_value(key: str, entry: dict[str, Any]) -> str:
    value = entry["value"]
    if key in SECRET_KEYS:
        return f"{REDACTED} (set)" if entry["set"] else "(not set)"
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if key in ("timeout", "poll_interval"):
        return f"{value:g} s"
    return str(value)
