"""Settings: the TOML config file, its profiles, environment overrides and flags.

Precedence, highest first: command-line flags, environment variables, the
selected profile of the config file, built-in defaults. Secrets (password,
token, the output of password_command) are held as `SecretStr`, never appear in
an error message, and are redacted by `render_settings`.

Imported by the headless path, so it stays light: no Textual, no httpx, and
subprocess / tomli-w / difflib are imported only where they are used.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from kostyor_tui.domain.text import REDACTED
from kostyor_tui.errors import ConfigError

APP_NAME = "kostyor-tui"
DEFAULT_API_URL = "http://127.0.0.1:5055"
DEFAULT_PROFILE_NAME = "default"
PASSWORD_COMMAND_TIMEOUT = 30.0

# Environment variable → profile key it overrides.
ENV_OVERRIDES: dict[str, str] = {
    "KOSTYOR_API_URL": "api_url",
    "KOSTYOR_USERNAME": "username",
    "KOSTYOR_PASSWORD": "password",
    "KOSTYOR_TOKEN": "token",
    "KOSTYOR_TIMEOUT": "timeout",
}
ENV_PROFILE = "KOSTYOR_PROFILE"
ENV_CONFIG = "KOSTYOR_CONFIG"
# Every variable kostyor-tui reads.
ENV_VARIABLES: tuple[str, ...] = (*ENV_OVERRIDES, ENV_PROFILE, ENV_CONFIG)

SECRET_KEYS = frozenset({"password", "password_command", "token"})

# Where an effective value came from; "file" is default_profile choosing the profile.
Source = Literal["flag", "env", "profile", "file", "default"]


class Profile(BaseModel):
    """One Kostyor endpoint and how to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str = DEFAULT_API_URL
    region: str | None = Field(default=None, min_length=1)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = Field(default=None, min_length=1)
    # Hidden from repr: its arguments may carry a secret (e.g. "echo hunter2").
    password_command: list[str] | None = Field(default=None, repr=False)
    token: SecretStr | None = Field(default=None, min_length=1)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    poll_interval: float = Field(default=2.0, ge=0.1, le=3600, allow_inf_nan=False)

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value

    @field_validator("password_command", mode="before")
    @classmethod
    def _split_password_command(cls, value: Any) -> Any:
        # A string is split the way a shell would split words, but never run by one.
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as error:
                raise ValueError(f"cannot split into arguments: {error}") from None
        return value

    @field_validator("password_command")
    @classmethod
    def _check_password_command(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0]):
            raise ValueError("must name a program to run")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _expand_ca_bundle(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _one_password_source(self) -> Profile:
        if self.password is not None and self.password_command is not None:
            raise ValueError("set password or password_command, not both")
        return self


class ConfigFile(BaseModel):
    """The whole TOML file: a default profile name and the profiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_profile: str | None = Field(default=None, min_length=1)
    profiles: dict[str, Profile] = Field(default_factory=dict)


PROFILE_KEYS: tuple[str, ...] = tuple(Profile.model_fields)


@dataclass
class Settings:
    """The effective settings: one profile after flags, environment and file are merged."""

    profile_name: str
    profile: Profile
    config_path: Path
    config_found: bool
    insecure: bool = False
    sources: dict[str, Source] = field(default_factory=dict)
    profile_source: Source = "default"
    warnings: list[str] = field(default_factory=list)
    _password: str | None = field(default=None, init=False, repr=False)
    _password_resolved: bool = field(default=False, init=False, repr=False)

    @property
    def api_url(self) -> str:
        return self.profile.api_url

    @property
    def poll_interval(self) -> float:
        return self.profile.poll_interval

    @property
    def verify(self) -> bool | str:
        """httpx's `verify`: False when off, the CA bundle path when set, else True."""
        if self.insecure or not self.profile.verify_tls:
            return False
        if self.profile.ca_bundle is not None:
            return str(self.profile.ca_bundle)
        return True

    def password(self) -> str | None:
        """The password, running password_command the first time it is needed."""
        if not self._password_resolved:
            if self.profile.password is not None:
                self._password = self.profile.password.get_secret_value()
            elif self.profile.password_command is not None:
                self._password = run_password_command(self.profile.password_command)
            self._password_resolved = True
        return self._password

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `KostyorClient(**options)`.

        Runs password_command if one is configured and a username is set
        (Basic credentials need both); raises ConfigError if it fails.
        """
        profile = self.profile
        return {
            "api_url": profile.api_url,
            "username": profile.username,
            "password": self.password() if profile.username is not None else None,
            "token": profile.token.get_secret_value() if profile.token is not None else None,
            "verify": self.verify,
            "timeout": profile.timeout,
        }


def default_config_path() -> Path:
    """Where the config file lives unless --config or KOSTYOR_CONFIG says otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_settings(
    *,
    config_path: Path | None = None,
    profile: str | None = None,
    api_url: str | None = None,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge flags > environment > profile > defaults into the effective Settings.

    A missing file at the default path means defaults; a missing file named by
    --config or KOSTYOR_CONFIG is an error, as is a profile named explicitly
    (flag, KOSTYOR_PROFILE or default_profile) that the file does not define.
    """
    env = os.environ if environ is None else environ
    path, path_explicit = _choose_config_path(config_path, env)

    warnings: list[str] = []
    config_found = path.is_file()
    if config_found:
        config = read_config_file(path)
        permission_problem = permission_warning(path)
        if permission_problem:
            warnings.append(permission_problem)
    elif path.exists():
        raise ConfigError(f"config file {path} is not a regular file")
    elif path_explicit:
        raise ConfigError(f"config file {path} does not exist")
    else:
        config = ConfigFile()

    name, profile_source = _choose_profile(config, profile, env, path)
    file_profile = config.profiles.get(name, Profile())

    values: dict[str, Any] = {}
    sources: dict[str, Source] = dict.fromkeys(PROFILE_KEYS, "default")
    for key, value in file_profile.model_dump(exclude_unset=True).items():
        values[key] = value
        sources[key] = "profile"
    if values.get("ca_bundle") is not None and not values["ca_bundle"].is_absolute():
        values["ca_bundle"] = path.absolute().parent / values["ca_bundle"]

    env_values = {key: env[var] for var, key in ENV_OVERRIDES.items() if env.get(var)}
    _validate_layer(env_values, {key: var for var, key in ENV_OVERRIDES.items()})
    flag_values = {"api_url": api_url} if api_url is not None else {}
    _validate_layer(flag_values, {"api_url": "--api-url"})

    for layer, source in ((env_values, "env"), (flag_values, "flag")):
        for key, value in layer.items():
            values[key] = value
            sources[key] = source
            if key == "password":
                # A password given at a higher level replaces the file's command.
                values.pop("password_command", None)
                sources["password_command"] = "default"

    effective = Profile.model_validate(values)

    settings = Settings(
        profile_name=name,
        profile=effective,
        config_path=path,
        config_found=config_found,
        insecure=insecure,
        sources=sources,
        profile_source=profile_source,
        warnings=warnings,
    )
    _check_effective(settings)
    return settings


def read_config_file(path: Path) -> ConfigFile:
    """Read and validate one config file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {_reason(error)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid UTF-8 text") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str) -> ConfigFile:
    """Parse TOML text into a ConfigFile; every problem becomes a one-line ConfigError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_describe_toml_error(error, path)) from None
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"config file {path}: {_describe_validation_error(error)}") from None


def run_password_command(argv: list[str], *, timeout: float = PASSWORD_COMMAND_TIMEOUT) -> str:
    """Run password_command (no shell) and return the first line of its output.

    Errors name the program only: its arguments and output may hold the secret.
    """
    import subprocess

    program = argv[0]
    try:
        completed = subprocess.run(
            argv,
            shell=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"password_command: program {program!r} not found") from None
    except PermissionError:
        raise ConfigError(f"password_command: program {program!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"password_command: {program!r} did not finish within {timeout:g} s"
        ) from None
    except OSError as error:
        raise ConfigError(f"password_command: cannot run {program!r}: {_reason(error)}") from None
    if completed.returncode != 0:
        raise ConfigError(
            f"password_command: {program!r} failed with exit status {completed.returncode}"
        )
    try:
        output = completed.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"password_command: {program!r} printed text that is not UTF-8") from None
    lines = output.splitlines()
    password = lines[0].strip() if lines else ""
    if not password:
        raise ConfigError(f"password_command: {program!r} printed no password")
    return password


def permission_warning(path: Path) -> str | None:
    """A warning when other users may read or change the config file, else None."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"warning: config file {path} is accessible by other users (mode {mode:04o}) "
        f"and may hold secrets; run: chmod 600 {shlex.quote(str(path))}"
    )


STARTER_HEADER = """\
# kostyor-tui configuration (written by `kostyor-tui config init`).
#
# Each [profiles.NAME] table describes one Kostyor endpoint; default_profile
# picks the one used unless --profile or KOSTYOR_PROFILE names another.
# Precedence: command-line flags > environment variables > profile > defaults.
#
# Keys of a profile (all optional):
#   api_url          Kostyor API base URL (default "http://127.0.0.1:5055")
#   region           a label shown in the console header
#   username         HTTP Basic user name
#   password         HTTP Basic password (prefer password_command)
#   password_command program printing the password on its first line, run
#                    without a shell: ["pass", "show", "kostyor"] or "pass show kostyor"
#   token            sent as the X-Auth-Token header
#   verify_tls       check the server's TLS certificate (default true)
#   ca_bundle        PEM file of CA certificates to trust (relative to this file)
#   timeout          seconds to wait for the API (default 10)
#   poll_interval    seconds between refreshes in the console (default 2)
#
# Environment overrides: KOSTYOR_API_URL, KOSTYOR_PROFILE, KOSTYOR_USERNAME,
# KOSTYOR_PASSWORD, KOSTYOR_TOKEN, KOSTYOR_TIMEOUT, KOSTYOR_CONFIG (this file).
# This file may hold secrets: keep it private (mode 0600).
#
# Example of a second profile:
#   [profiles.production]
#   api_url = "https://kostyor.example.org:5055"
#   region = "RegionOne"
#   username = "operator"
#   password_command = ["pass", "show", "kostyor/production"]
#   ca_bundle = "/etc/ssl/certs/internal-ca.pem"

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
        path, _ = _choose_config_path(None, os.environ if environ is None else environ)
    path = Path(path).expanduser()
    text = STARTER_HEADER + tomli_w.dumps(starter_config())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise ConfigError(f"cannot create directory {path.parent}: {_reason(error)}") from None
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
        raise ConfigError(f"cannot write config file {path}: {_reason(error)}") from None
    return path


def settings_summary(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets redacted, with each value's source."""
    profile = settings.profile
    entries: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        value = getattr(profile, key)
        if key in SECRET_KEYS:
            shown: Any = REDACTED if value is not None else None
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
        "warnings": list(settings.warnings),
    }


def render_settings(settings: Settings) -> str:
    """The effective settings for `config show`, secrets redacted."""
    summary = settings_summary(settings)
    found = "" if settings.config_found else "  (not found; using defaults)"
    lines = [
        f"{'config file':<17} {summary['config_path']}{found}",
        f"{'profile':<17} {settings.profile_name:<40} ({_source_label(settings.profile_source)})",
    ]
    for key, entry in summary["settings"].items():
        lines.append(f"{key:<17} {_show_value(key, entry):<40} ({_source_label(entry['source'])})")
    lines.extend(summary["warnings"])
    return "\n".join(lines)


# Internals


def _choose_config_path(config_path: Path | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    if config_path is not None:
        return Path(config_path).expanduser(), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser(), True
    return default_config_path(), False


def _choose_profile(
    config: ConfigFile, flag: str | None, env: Mapping[str, str], path: Path
) -> tuple[str, Source]:
    choices: list[tuple[str | None, Source, str]] = [
        (flag, "flag", "--profile"),
        (env.get(ENV_PROFILE) or None, "env", ENV_PROFILE),
        (config.default_profile, "file", f"default_profile in {path}"),
    ]
    for name, source, origin in choices:
        if name is None:
            continue
        if name not in config.profiles:
            known = ", ".join(sorted(config.profiles)) or f"none (no profiles in {path})"
            raise ConfigError(f"unknown profile {name!r} (from {origin}); known profiles: {known}")
        return name, source
    if config.profiles and DEFAULT_PROFILE_NAME not in config.profiles:
        known = ", ".join(sorted(config.profiles))
        raise ConfigError(
            f"config file {path} defines profiles {known} but no default_profile; "
            "set default_profile or pass --profile"
        )
    return DEFAULT_PROFILE_NAME, "default"


def _validate_layer(values: dict[str, Any], origins: dict[str, str]) -> None:
    """Validate flag or environment values alone, so an error names the flag or variable."""
    if not values:
        return
    try:
        Profile.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        shown = "" if key in SECRET_KEYS else f" (got {first['input']!r})"
        raise ConfigError(f"{origins.get(key, key)}: {_message(first)}{shown}") from None


def _check_effective(settings: Settings) -> None:
    profile = settings.profile
    bundle = profile.ca_bundle
    if settings.verify is not False and bundle is not None and not bundle.is_file():
        raise ConfigError(f"ca_bundle {profile.ca_bundle} does not exist or is not a file")
    if settings.verify is False and urlsplit(profile.api_url).scheme == "https":
        reason = "--insecure" if settings.insecure else "verify_tls = false"
        settings.warnings.append(
            f"warning: TLS certificate verification is off ({reason}); "
            f"the identity of {profile.api_url} is not checked"
        )
    elif settings.insecure:
        settings.warnings.append("warning: TLS certificate verification is off (--insecure)")
    has_password = profile.password is not None or profile.password_command is not None
    if has_password and profile.username is None:
        settings.warnings.append(
            "warning: a password is configured but no username; no Basic credentials will be sent"
        )


def _describe_toml_error(error: tomllib.TOMLDecodeError, path: Path | str) -> str:
    text = str(error)
    where = f"config file {path}"
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if match:
        where = f"{where}, line {match.group(1)}, column {match.group(2)}"
        text = text[: match.start()]
    elif text.endswith("(at end of document)"):
        where = f"{where}, at the end"
        text = text.removesuffix("(at end of document)").strip()
    # Never repeat file content: the offending character may be part of a secret.
    text = re.sub(r"^(Illegal character|Found invalid character) .*$", r"\1", text)
    return f"{where}: invalid TOML: {text}"


def _describe_validation_error(error: ValidationError) -> str:
    problems = []
    for detail in error.errors():
        loc = [str(part) for part in detail["loc"]]
        key = ".".join(loc) or "(top level)"
        if detail["type"] == "extra_forbidden":
            problems.append(f"{key}: {_unknown_key_message(loc)}")
            continue
        leaf = loc[-1] if loc else ""
        secret = leaf in SECRET_KEYS or (len(loc) >= 2 and loc[-2] in SECRET_KEYS)
        shown = "" if secret or isinstance(detail["input"], dict) else f" (got {detail['input']!r})"
        problems.append(f"{key}: {_message(detail)}{shown}")
    return "; ".join(problems)


def _unknown_key_message(loc: list[str]) -> str:
    import difflib

    in_profile = len(loc) == 3 and loc[0] == "profiles"
    known = PROFILE_KEYS if in_profile else tuple(ConfigFile.model_fields)
    if not in_profile and len(loc) == 1 and loc[0] in PROFILE_KEYS:
        return f"unknown key at the top level; put {loc[0]} in a [profiles.NAME] table"
    message = f"unknown key; known keys: {', '.join(known)}"
    close = difflib.get_close_matches(loc[-1], known, n=1)
    if close:
        message = f"unknown key (did you mean {close[0]!r}?); known keys: {', '.join(known)}"
    return message


def _message(detail: Any) -> str:
    message = str(detail["msg"])
    return message.removeprefix("Value error, ")


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


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _create_private_file(path: Path, text: str) -> None:
    """Create path (it must not exist) readable by its owner only from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _replace_private_file(path: Path, text: str) -> None:
    """Write a private temporary file beside path, then rename it over path."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _create_private_file(temporary, text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
