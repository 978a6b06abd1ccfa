"""Settings: the TOML config file, its profiles, environment overrides and flags.

Precedence, highest first: command-line flags, environment variables, the
selected profile of the config file, built-in defaults. Secrets (password,
token, the output of password_command and token_command, a password written
into api_url) are held as `SecretStr` or only once resolved, never appear in an
error message, and are redacted wherever settings are shown.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

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

from kostyor_tui.config.secrets import run_secret_command
from kostyor_tui.domain.text import redact_url, without_credentials
from kostyor_tui.errors import ConfigError

APP_NAME = "kostyor-tui"
DEFAULT_API_URL = "http://127.0.0.1:5055"
DEFAULT_PROFILE_NAME = "default"
AUDIT_FILE_NAME = "audit.jsonl"

# Environment variable → profile key it overrides.
ENV_OVERRIDES: dict[str, str] = {
    "KOSTYOR_API_URL": "api_url",
    "KOSTYOR_USERNAME": "username",
    "KOSTYOR_PASSWORD": "password",
    "KOSTYOR_TOKEN": "token",
    "KOSTYOR_TIMEOUT": "timeout",
    "KOSTYOR_POLL_INTERVAL": "poll_interval",
}
ENV_PROFILE = "KOSTYOR_PROFILE"
ENV_CONFIG = "KOSTYOR_CONFIG"
ENV_AUDIT_FILE = "KOSTYOR_AUDIT_FILE"
# OpenStack's own variable for the CA bundle: used when the profile names none.
ENV_CACERT = "OS_CACERT"
# Read by the openstack discovery method's credentials (kostyor_tui.config.clouds).
ENV_OPENSTACK: tuple[str, ...] = ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE")
# Every variable kostyor-tui reads.
ENV_VARIABLES: tuple[str, ...] = (
    *ENV_OVERRIDES,
    ENV_PROFILE,
    ENV_CONFIG,
    ENV_AUDIT_FILE,
    ENV_CACERT,
    *ENV_OPENSTACK,
)

SECRET_KEYS = frozenset({"password", "password_command", "token", "token_command"})

# Where an effective value came from; "file" is default_profile choosing the profile.
Source = Literal["flag", "env", "profile", "file", "default"]


def _split_command(value: Any) -> Any:
    # A string is split the way a shell would split words, but never run by one.
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as error:
            raise ValueError(f"cannot split into arguments: {error}") from None
    return value


def _check_command(value: list[str] | None) -> list[str] | None:
    if value is not None and (not value or not value[0]):
        raise ValueError("must name a program to run")
    return value


class Profile(BaseModel):
    """One Kostyor endpoint and how to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str = DEFAULT_API_URL
    region: str | None = Field(default=None, min_length=1)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = Field(default=None, min_length=1)
    # Hidden from repr: their arguments may carry a secret (e.g. "echo hunter2").
    password_command: list[str] | None = Field(default=None, repr=False)
    token: SecretStr | None = Field(default=None, min_length=1)
    token_command: list[str] | None = Field(default=None, repr=False)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    poll_interval: float = Field(default=2.0, ge=0.1, le=3600, allow_inf_nan=False)
    read_only: bool = False
    theme: str | None = Field(default=None, min_length=1, max_length=100)
    bell: bool = True

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
        if "@" in parts.path + parts.query + parts.fragment:
            # A password with an unescaped `/` then `@`: the URL names two hosts, the
            # credentials would go to the first and be shown as if for the second.
            raise ValueError(
                "has an '@' after its host: percent-encode '@' and '/' in a user name or"
                " password (%40, %2F)"
            )
        return value

    @field_validator("password_command", "token_command", mode="before")
    @classmethod
    def _split_commands(cls, value: Any) -> Any:
        return _split_command(value)

    @field_validator("password_command", "token_command")
    @classmethod
    def _check_commands(cls, value: list[str] | None) -> list[str] | None:
        return _check_command(value)

    @field_validator("ca_bundle")
    @classmethod
    def _expand_ca_bundle(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("theme")
    @classmethod
    def _check_theme(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.+-]+", value):
            raise ValueError("must be a theme name (letters, digits, '-', '_', '.', '+')")
        return value

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> Profile:
        if self.password is not None and self.password_command is not None:
            raise ValueError("set password or password_command, not both")
        if self.token is not None and self.token_command is not None:
            raise ValueError("set token or token_command, not both")
        return self


# A Textual key name: "q", "ctrl+p", "question_mark", "f1", "shift+tab".
_KEY = re.compile(r"[a-z0-9_+\-]+|.", re.IGNORECASE)


def _normalise_keys(value: Any) -> Any:
    """Keys as Textual's `App.set_keymap` takes them: one string, comma-separated."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    if not isinstance(value, str):
        return value
    keys = [key.strip() for key in value.split(",")]
    if not all(keys) or not all(_KEY.fullmatch(key) for key in keys):
        raise ValueError(
            'must be key names, comma-separated or as a list: "ctrl+p", "f1", ["p", "space"]'
        )
    return ",".join(keys)


class ConfigFile(BaseModel):
    """The whole TOML file: a default profile name, the profiles, the key bindings and
    where the audit trail goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_profile: str | None = Field(default=None, min_length=1)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    # Binding id ("app.quit", "upgrade.pause", ...) → keys, for Textual's App.set_keymap.
    keymap: dict[str, str] = Field(default_factory=dict)
    audit_file: Path | None = None

    @field_validator("keymap", mode="before")
    @classmethod
    def _check_keymap(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        keymap: dict[Any, Any] = {}
        for binding, keys in value.items():
            if not re.fullmatch(r"[\w.-]+", str(binding)):
                raise ValueError(f"{binding!r} is not a binding id (like app.quit)")
            try:
                keymap[binding] = _normalise_keys(keys)
            except ValueError as error:
                raise ValueError(f"{binding}: {error}") from None
        return keymap

    @field_validator("audit_file")
    @classmethod
    def _expand_audit_file(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


PROFILE_KEYS: tuple[str, ...] = tuple(Profile.model_fields)
FILE_KEYS: tuple[str, ...] = tuple(ConfigFile.model_fields)


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
    # The file as read (every profile, the keymap), and where the audit trail goes.
    file: ConfigFile = field(default_factory=lambda: ConfigFile())
    audit_path: Path = field(default_factory=lambda: default_audit_path())
    audit_source: Source = "default"
    # Told every secret once it is known (a password or token from a command), so that an
    # error boundary can redact it: see `known_secrets`.
    on_secret: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    # What load_settings was given, to load another profile the same way (`with_profile`).
    _load_options: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _password: str | None = field(default=None, init=False, repr=False)
    _password_resolved: bool = field(default=False, init=False, repr=False)
    _token: str | None = field(default=None, init=False, repr=False)
    _token_resolved: bool = field(default=False, init=False, repr=False)

    @property
    def api_url(self) -> str:
        """The API URL as configured, credentials included: for the client only. Show
        `display_url` instead."""
        return self.profile.api_url

    @property
    def display_url(self) -> str:
        """The API URL without any credentials written into it: for headers and records."""
        return without_credentials(self.profile.api_url)

    @property
    def poll_interval(self) -> float:
        return self.profile.poll_interval

    @property
    def read_only(self) -> bool:
        """Whether every change is refused: `--read-only`, or `read_only = true` in the
        profile."""
        return self.profile.read_only

    @property
    def read_only_hint(self) -> str:
        """What to do about a refusal in read-only mode, naming where it comes from."""
        source = self.sources.get("read_only")
        if source == "profile":
            return (
                f"profile {self.profile_name!r} is read-only (read_only = true in "
                f"{self.config_path}): use another profile, or set read_only = false there"
            )
        in_profile = self.file.profiles.get(self.profile_name, Profile()).read_only
        also = f" and profile {self.profile_name!r} is read-only too" if in_profile else ""
        return f"run without --read-only to allow it{also}"

    @property
    def theme(self) -> str | None:
        """The console theme of this profile (a Textual theme name), if one is set."""
        return self.profile.theme

    @property
    def bell(self) -> bool:
        """Whether the console rings the terminal bell when an upgrade fails, pauses or ends."""
        return self.profile.bell

    @property
    def keymap(self) -> dict[str, str]:
        """Binding id → keys (comma-separated), for Textual's `App.set_keymap`."""
        return dict(self.file.keymap)

    @property
    def profile_names(self) -> list[str]:
        """The profiles the config file defines, in its order."""
        return list(self.file.profiles)

    @property
    def verify(self) -> bool | str:
        """The client's `verify`: False when off, the CA bundle path (a file or a
        directory) when set, else True (the system's trust store)."""
        if self.insecure or not self.profile.verify_tls:
            return False
        if self.profile.ca_bundle is not None:
            return str(self.profile.ca_bundle)
        return True

    def with_profile(self, name: str) -> Settings:
        """The settings of profile `name`, loaded as these were (same file, flags and
        environment; the file is read again). Raises ConfigError for an unknown profile."""
        options = dict(self._load_options)
        options["profile"] = name
        settings = load_settings(**options)
        settings.on_secret = self.on_secret
        return settings

    def password(self) -> str | None:
        """The password, running password_command the first time it is needed."""
        if not self._password_resolved:
            if self.profile.password is not None:
                self._password = self.profile.password.get_secret_value()
            elif self.profile.password_command is not None:
                self._password = self._run("password_command", self.profile.password_command)
            self._password_resolved = True
        return self._password

    def token(self) -> str | None:
        """The token, running token_command the first time it is needed."""
        if not self._token_resolved:
            if self.profile.token is not None:
                self._token = self.profile.token.get_secret_value()
            elif self.profile.token_command is not None:
                self._token = self._run("token_command", self.profile.token_command)
            self._token_resolved = True
        return self._token

    def refresh_token(self) -> str:
        """Run token_command again and return the fresh token: the client calls this when
        the API refuses the token it has (an expired Keystone token). Raises ConfigError."""
        if self.profile.token_command is None:
            raise ConfigError("no token_command is configured to refresh the token with")
        self._token = self._run("token_command", self.profile.token_command)
        self._token_resolved = True
        return self._token

    def known_secrets(self) -> list[str]:
        """Every secret known so far (configured, or printed by a command, or written into
        api_url), for redaction at an error boundary."""
        found = [s.get_secret_value() for s in (self.profile.password, self.profile.token) if s]
        found += [s for s in (self._password, self._token) if s]
        found += _url_passwords(self.profile.api_url)
        return found

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `KostyorClient(**options)`.

        Runs password_command if one is configured and a username is set (Basic
        credentials need both), and token_command if one is configured; raises
        ConfigError if either fails. `token_refresh` re-runs token_command when the API
        refuses the token.
        """
        profile = self.profile
        return {
            "api_url": profile.api_url,
            "username": profile.username,
            "password": self.password() if profile.username is not None else None,
            "token": self.token(),
            "token_refresh": self.refresh_token if profile.token_command is not None else None,
            "verify": self.verify,
            "timeout": profile.timeout,
        }

    def _run(self, what: str, argv: list[str]) -> str:
        secret = run_secret_command(argv, what=what)
        if self.on_secret is not None:
            self.on_secret(secret)
        return secret


def default_config_path() -> Path:
    """Where the config file lives unless --config or KOSTYOR_CONFIG says otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_audit_path() -> Path:
    """Where the audit trail goes unless audit_file or KOSTYOR_AUDIT_FILE says otherwise:
    the platform's state directory (Linux: ~/.local/state/kostyor-tui/audit.jsonl)."""
    return Path(platformdirs.user_state_dir(APP_NAME)) / AUDIT_FILE_NAME


def load_settings(
    *,
    config_path: Path | None = None,
    profile: str | None = None,
    api_url: str | None = None,
    insecure: bool = False,
    read_only: bool = False,
    poll_interval: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge flags > environment > profile > defaults into the effective Settings.

    The flags are `api_url` (--api-url), `insecure` (--insecure), `read_only`
    (--read-only: it can turn read-only mode on, never off) and `poll_interval`
    (--refresh). A missing file at the default path means defaults; a missing file
    named by --config or KOSTYOR_CONFIG is an error, as is a profile named
    explicitly (flag, KOSTYOR_PROFILE or default_profile) that the file does not
    define.
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
        raise ConfigError(f"config file {path} {_why_missing(path)}")
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

    env_values: dict[str, Any] = {
        key: env[var] for var, key in ENV_OVERRIDES.items() if env.get(var)
    }
    env_origins = {key: var for var, key in ENV_OVERRIDES.items()}
    if values.get("ca_bundle") is None and env.get(ENV_CACERT):
        env_values["ca_bundle"] = env[ENV_CACERT]
        env_origins["ca_bundle"] = ENV_CACERT
    _validate_layer(env_values, env_origins)
    flag_values: dict[str, Any] = {}
    if api_url is not None:
        flag_values["api_url"] = api_url
    if poll_interval is not None:
        flag_values["poll_interval"] = poll_interval
    if read_only:
        flag_values["read_only"] = True
    _validate_layer(flag_values, {"api_url": "--api-url", "poll_interval": "--refresh"})

    layers: tuple[tuple[dict[str, Any], Source], ...] = ((env_values, "env"), (flag_values, "flag"))
    for layer, source in layers:
        for key, value in layer.items():
            values[key] = value
            sources[key] = source
            if key in ("password", "token"):
                # A secret given at a higher level replaces the file's command for it.
                values.pop(f"{key}_command", None)
                sources[f"{key}_command"] = "default"

    effective = Profile.model_validate(values)

    audit_path, audit_source = _choose_audit_path(config, env, path)
    settings = Settings(
        profile_name=name,
        profile=effective,
        config_path=path,
        config_found=config_found,
        insecure=insecure,
        sources=sources,
        profile_source=profile_source,
        warnings=warnings,
        file=config,
        audit_path=audit_path,
        audit_source=audit_source,
        _load_options={
            "config_path": config_path,
            "api_url": api_url,
            "insecure": insecure,
            "read_only": read_only,
            "poll_interval": poll_interval,
            "environ": {name: env[name] for name in ENV_VARIABLES if name in env},
        },
    )
    _check_effective(settings)
    return settings


def read_config_file(path: Path) -> ConfigFile:
    """Read and validate one config file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {reason(error)}") from None
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


def choose_config_path(config_path: Path | None, env: Mapping[str, str]) -> Path:
    """The config file load_settings reads: the flag's, else KOSTYOR_CONFIG's, else the
    platform default."""
    return _choose_config_path(config_path, env)[0]


def _why_missing(path: Path) -> str:
    """Why a path that does not exist as a file cannot be read: absent, or another cause
    (a loop of symbolic links, a directory that may not be searched)."""
    try:
        path.stat()
    except FileNotFoundError:
        return "does not exist"
    except OSError as error:
        return f"cannot be read: {reason(error)}"
    return "does not exist"


def reason(error: OSError) -> str:
    """An OSError's reason, without its errno and file name."""
    return error.strerror or type(error).__name__


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


def _choose_audit_path(
    config: ConfigFile, env: Mapping[str, str], path: Path
) -> tuple[Path, Source]:
    if env.get(ENV_AUDIT_FILE):
        return Path(env[ENV_AUDIT_FILE]).expanduser().absolute(), "env"
    if config.audit_file is not None:
        audit = config.audit_file
        return (audit if audit.is_absolute() else path.absolute().parent / audit), "file"
    return default_audit_path(), "default"


def _validate_layer(values: dict[str, Any], origins: dict[str, str]) -> None:
    """Validate flag or environment values alone, so an error names the flag or variable."""
    if not values:
        return
    try:
        Profile.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        raise ConfigError(
            f"{origins.get(key, key)}: {_message(first)}{_shown_input(key, first['input'])}"
        ) from None


def _shown_input(key: str, value: Any) -> str:
    """` (got VALUE)` for an error message: nothing for a secret or a table, and any
    password in a URL redacted."""
    if key in SECRET_KEYS or isinstance(value, dict):
        return ""
    return f" (got {redact_url(repr(value))})"


def _check_effective(settings: Settings) -> None:
    profile = settings.profile
    bundle = profile.ca_bundle
    if settings.verify is not False and bundle is not None and not bundle.exists():
        origin = " (from OS_CACERT)" if settings.sources.get("ca_bundle") == "env" else ""
        raise ConfigError(
            f"ca_bundle {bundle}{origin} does not exist: name a PEM file of CA "
            "certificates, or a directory of them"
        )
    if settings.verify is False and urlsplit(profile.api_url).scheme == "https":
        why = "--insecure" if settings.insecure else "verify_tls = false"
        settings.warnings.append(
            f"warning: TLS certificate verification is off ({why}); "
            f"the identity of {settings.display_url} is not checked"
        )
    elif settings.insecure:
        settings.warnings.append("warning: TLS certificate verification is off (--insecure)")
    has_password = profile.password is not None or profile.password_command is not None
    if has_password and profile.username is None:
        settings.warnings.append(
            "warning: a password is configured but no username; no Basic credentials will be sent"
        )


def _url_passwords(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    if not password:
        return []
    return list(dict.fromkeys((password, unquote(password))))


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
        shown = "" if secret else _shown_input(leaf, detail["input"])
        problems.append(f"{key}: {_message(detail)}{shown}")
    return "; ".join(problems)


def _unknown_key_message(loc: list[str]) -> str:
    import difflib

    in_profile = len(loc) == 3 and loc[0] == "profiles"
    known = PROFILE_KEYS if in_profile else FILE_KEYS
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
