"""The `openstack` discovery method's credentials from a `clouds.yaml`, so that no
password is typed (and none shows in `ps` or the shell's history).

The files are found the way OpenStack's own tools find them (openstacksdk's
config loader): `OS_CLIENT_CONFIG_FILE` if set, then `clouds.yaml` (or `.yml`,
`.json`) in the current directory, `~/.config/openstack/` and `/etc/openstack/`;
the first that exists is read. `secure.yaml` is found the same way
(`OS_CLIENT_SECURE_FILE`) and its clouds merged over the first's, so the
password can live apart. The cloud's `auth:` block maps to the method's
parameters: `username`, `password`, `tenant_name` (from `project_name`, or
`tenant_name`) and `auth_url`. The cloud is `--os-cloud CLOUD`, else `OS_CLOUD`.

YAML is imported only here, and only when a cloud is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from kostyor_tui.domain.text import REDACTED, is_secret_name, redact_url
from kostyor_tui.errors import ConfigError, UsageError

METHOD = "openstack"
ENV_CLOUD = "OS_CLOUD"
ENV_CONFIG_FILE = "OS_CLIENT_CONFIG_FILE"
ENV_SECURE_FILE = "OS_CLIENT_SECURE_FILE"
# The openstack method's parameters (docs/kostyor-api.md#quirk-discovery-parameters).
PARAMETERS = ("username", "password", "tenant_name", "auth_url")
# clouds.yaml auth key(s) → the method's parameter; the first key present wins.
_AUTH_KEYS: dict[str, tuple[str, ...]] = {
    "username": ("username",),
    "password": ("password",),
    "tenant_name": ("project_name", "tenant_name"),
    "auth_url": ("auth_url",),
}
_PASSWORD_AUTH_TYPES = {"password", "v2password", "v3password"}
_SUFFIXES = (".yaml", ".yml", ".json")
_MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CloudCredentials:
    """What a cloud of clouds.yaml gives the openstack method."""

    cloud: str
    path: Path
    secure_path: Path | None
    parameters: dict[str, str]


def search_directories() -> list[Path]:
    """Where clouds.yaml and secure.yaml are looked for, in order."""
    directories = [
        Path.cwd(),
        Path(platformdirs.user_config_dir("openstack")),
        Path.home() / ".config" / "openstack",
        Path("/etc/openstack"),
    ]
    return list(dict.fromkeys(directories))


def find_file(
    stem: str, override: str | None, directories: Sequence[Path] | None = None
) -> Path | None:
    """The first of `override` (an environment variable's value), then `stem` with each
    suffix in each directory, that exists."""
    candidates = [Path(override).expanduser()] if override else []
    for directory in search_directories() if directories is None else directories:
        candidates += [directory / f"{stem}{suffix}" for suffix in _SUFFIXES]
    return next((path for path in candidates if path.is_file()), None)


def read_cloud(
    cloud: str,
    *,
    environ: Mapping[str, str] | None = None,
    directories: Sequence[Path] | None = None,
) -> CloudCredentials:
    """The openstack method's parameters found for `cloud` (some may be missing)."""
    env = os.environ if environ is None else environ
    path = find_file("clouds", env.get(ENV_CONFIG_FILE), directories)
    if path is None:
        searched = search_directories() if directories is None else directories
        where = ", ".join(str(directory) for directory in searched)
        raise ConfigError(
            f"no clouds.yaml found for cloud {cloud!r} (looked in {where}, and {ENV_CONFIG_FILE})"
        )
    clouds = _clouds_of(path)
    secure_path = find_file("secure", env.get(ENV_SECURE_FILE), directories)
    secure = _clouds_of(secure_path) if secure_path is not None else {}
    if cloud not in clouds and cloud not in secure:
        known = ", ".join(sorted(clouds)) or "none"
        raise ConfigError(f"no cloud {cloud!r} in {path}; clouds there: {known}")
    config = _merged(_table(clouds.get(cloud), f"clouds.{cloud}", path), secure.get(cloud))
    auth = _table(config.get("auth"), f"clouds.{cloud}.auth", path)
    auth_type = str(config.get("auth_type") or "password")
    if auth_type not in _PASSWORD_AUTH_TYPES:
        raise ConfigError(
            f"cloud {cloud!r} in {path} uses auth_type {auth_type!r}; the openstack discovery "
            "method takes a username and a password"
        )
    parameters: dict[str, str] = {}
    for parameter, keys in _AUTH_KEYS.items():
        for key in keys:
            value = auth.get(key)
            scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
            if scalar and str(value):
                parameters[parameter] = str(value)
                break
    return CloudCredentials(cloud, path, secure_path, parameters)


def discovery_parameters(
    method: str,
    parameters: Mapping[str, str],
    os_cloud: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    directories: Sequence[Path] | None = None,
) -> tuple[dict[str, str], str | None]:
    """The parameters to send for a discovery, and a note saying what was taken from where
    (secrets redacted), or None when no cloud was read.

    For the openstack method with a cloud (`os_cloud`, else OS_CLOUD unless every
    parameter was given), the cloud's credentials are the base and `parameters`
    (key=value given explicitly) override them. Raises UsageError for --os-cloud with
    another method, or when a parameter is still missing.
    """
    env = os.environ if environ is None else environ
    given = dict(parameters)
    if method != METHOD:
        if os_cloud:
            raise UsageError(f"--os-cloud applies to the {METHOD} discovery method only")
        return given, None
    cloud = os_cloud or (env.get(ENV_CLOUD) if not set(PARAMETERS) <= set(given) else None)
    if not cloud:
        return given, None
    found = read_cloud(cloud, environ=env, directories=directories)
    merged = {**found.parameters, **given}
    missing = [name for name in PARAMETERS if not merged.get(name)]
    if missing:
        raise UsageError(
            f"cloud {cloud!r} of {found.path} gives no {', '.join(missing)} for the {METHOD} "
            "method",
            hint="add it to the cloud's auth: block (or secure.yaml), or pass it as key=value",
        )
    origin = f"{found.path}" + (f" and {found.secure_path}" if found.secure_path else "")
    note = f"{METHOD} discovery: cloud {cloud!r} from {origin}; parameters {shown(merged)}"
    return merged, note


def shown(parameters: Mapping[str, str]) -> str:
    """`key=value` pairs for a message: secret values redacted, URLs without passwords."""
    return ", ".join(
        f"{key}={REDACTED if is_secret_name(key) else redact_url(value)}"
        for key, value in sorted(parameters.items())
    )


# Internals


def _clouds_of(path: Path) -> dict[str, Any]:
    import yaml

    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or type(error).__name__}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise ConfigError(f"{path} is larger than {_MAX_FILE_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        # Never repeat the file's content: it holds passwords.
        raise ConfigError(f"{path}{where}: not valid YAML") from None
    if data is None:
        return {}
    document = _table(data, "(top level)", path)
    return _table(document.get("clouds"), "clouds", path)


def _table(value: Any, where: str, path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where} must be a mapping")
    return value


def _merged(base: dict[str, Any], over: Any) -> dict[str, Any]:
    """`over` merged into `base`, mappings merged key by key (as openstacksdk does)."""
    if not isinstance(over, dict):
        return dict(base)
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
