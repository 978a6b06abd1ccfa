"""Writing the config file: `config init` (a commented starter), and edits that keep
what the user wrote (`config use-profile`, the console saving a profile's theme).

Edits go through tomlkit, which keeps comments, order and formatting; it is
imported only here, and only when the file is edited. Every edit is checked by
reading the new text back as a config before it replaces the file; the file
is replaced atomically (a private temporary file renamed over it) and keeps
its mode, or gets 0600 when new. A config file that is a symlink is edited
where it points.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kostyor_tui.config.settings import (
    DEFAULT_PROFILE_NAME,
    Profile,
    Settings,
    choose_config_path,
    parse_config,
    reason,
)
from kostyor_tui.errors import ConfigError

STARTER_HEADER = """\
# kostyor-tui configuration (written by `kostyor-tui config init`).
#
# Each [profiles.NAME] table describes one Kostyor endpoint; default_profile
# picks the one used unless --profile or KOSTYOR_PROFILE names another
# (`kostyor-tui config use-profile NAME` sets it, keeping this file's comments).
# Precedence: command-line flags > environment variables > profile > defaults.
#
# Keys of a profile (all optional):
#   api_url          Kostyor API base URL (default "http://127.0.0.1:5055")
#   region           a label shown in the console header
#   username         HTTP Basic user name
#   password         HTTP Basic password (prefer password_command)
#   password_command program printing the password on its first line, run
#                    without a shell: ["pass", "show", "kostyor"] or "pass show kostyor"
#   token            sent as the X-Auth-Token header (prefer token_command)
#   token_command    program printing the token on its first line, run like
#                    password_command, and again when the API refuses the token
#   verify_tls       check the server's TLS certificate (default true)
#   ca_bundle        PEM file, or directory, of CA certificates to trust (relative
#                    to this file); default: the system's trust store, or OS_CACERT
#   timeout          seconds to wait for the API (default 10)
#   poll_interval    seconds between refreshes in the console (default 2)
#   read_only        true: refuse every action that changes a cluster (default false)
#   theme            the console's colour theme, a Textual theme name
#   bell             true: ring the terminal bell when an upgrade fails, pauses or ends
#                    (default true)
#
# Top-level keys:
#   audit_file       where the audit trail of actions goes (default: the platform's
#                    state directory, ~/.local/state/kostyor-tui/audit.jsonl)
#   [keymap]         binding id = keys, e.g. "upgrade.pause" = "p,space"
#
# Environment overrides: KOSTYOR_API_URL, KOSTYOR_PROFILE, KOSTYOR_USERNAME,
# KOSTYOR_PASSWORD, KOSTYOR_TOKEN, KOSTYOR_TIMEOUT, KOSTYOR_POLL_INTERVAL,
# KOSTYOR_CONFIG (this file), KOSTYOR_AUDIT_FILE, OS_CACERT.
# This file may hold secrets: keep it private (mode 0600).
#
# Example of a second profile:
#   [profiles.production]
#   api_url = "https://kostyor.example.org:5055"
#   region = "RegionOne"
#   username = "operator"
#   password_command = ["pass", "show", "kostyor/production"]
#   ca_bundle = "/etc/ssl/certs/internal-ca.pem"
#   read_only = true

"""


def starter_config() -> dict[str, Any]:
    """The settings `config init` writes: the defaults, spelled out."""
    defaults = Profile()
    return {
        "default_profile": DEFAULT_PROFILE_NAME,
        "profiles": {
            DEFAULT_PROFILE_NAME: {
                "api_url": defaults.api_url,
                "verify_tls": defaults.verify_tls,
                "timeout": defaults.timeout,
                "poll_interval": defaults.poll_interval,
            }
        },
    }


def init_config(
    path: Path | None = None,
    *,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Write a commented starter config file with mode 0600 and return its path.

    Without a path it writes where load_settings reads: KOSTYOR_CONFIG, else
    the platform default.
    """
    import tomli_w

    if path is None:
        path = choose_config_path(None, os.environ if environ is None else environ)
    path = Path(path).expanduser()
    text = STARTER_HEADER + tomli_w.dumps(starter_config())
    _make_directory(path.parent)
    try:
        if force:
            _replace_private_file(path, text)
        else:
            _create_private_file(path, text)
    except FileExistsError:
        raise ConfigError(
            f"config file {path} already exists; use --force to overwrite it"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot write config file {path}: {reason(error)}") from None
    return path


def use_profile(path: Path, name: str) -> Path:
    """Set `default_profile = NAME` in the config file at `path`, keeping everything
    else as written. The profile must be defined there. Returns the file edited."""

    def edit(document: Any) -> None:
        profiles = document.get("profiles")
        if not isinstance(profiles, dict) or name not in profiles:
            known = ", ".join(profiles) if isinstance(profiles, dict) and profiles else "none"
            raise ConfigError(f"unknown profile {name!r} in {path}; known profiles: {known}")
        document["default_profile"] = name

    return edit_config(path, edit, create=False)


def save_theme(settings: Settings, theme: str) -> Path:
    """Write `theme = THEME` into the table of the profile in use (`settings.profile_name`)
    of the config file `settings.config_path`, keeping everything else as written. Makes
    the table, or the file (mode 0600), when there is none yet. Returns the file edited;
    raises ConfigError (a bad theme name, an unwritable file)."""
    name = settings.profile_name

    def edit(document: Any) -> None:
        import tomlkit

        profiles = document.get("profiles")
        if profiles is None:
            profiles = tomlkit.table(is_super_table=True)
            document["profiles"] = profiles
        if name not in profiles:
            profiles[name] = tomlkit.table()
        profiles[name]["theme"] = theme

    return edit_config(settings.config_path, edit, create=True)


def edit_config(path: Path, edit: Callable[[Any], None], *, create: bool) -> Path:
    """Apply `edit` to the TOML document of the config file at `path` (a tomlkit document,
    changed in place), check the result is a valid config, and replace the file with it.
    `create`: a missing file is started empty (else it is an error)."""
    import tomlkit

    target = Path(path).expanduser()
    target = target.resolve() if target.is_symlink() else target
    try:
        text = target.read_text(encoding="utf-8")
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                f"config file {target} does not exist; write one with: kostyor-tui config init"
            ) from None
        text, mode = "", None
    except (OSError, UnicodeDecodeError) as error:
        why = reason(error) if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read config file {target}: {why}") from None
    parse_config(text, target)  # a file that is broken already is not edited
    document = tomlkit.parse(text)
    edit(document)
    new_text = tomlkit.dumps(document)
    parse_config(new_text, target)
    _make_directory(target.parent)
    try:
        _replace_private_file(target, new_text, mode=0o600 if mode is None else mode)
    except OSError as error:
        raise ConfigError(f"cannot write config file {target}: {reason(error)}") from None
    return target


# Internals


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise ConfigError(f"cannot create directory {directory}: {reason(error)}") from None


def _create_private_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Create path (it must not exist) with `mode` (0600: its owner only) from the first
    byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_private_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a private temporary file beside path, then rename it over path."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _create_private_file(temporary, text, mode)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
