"""Settings and profiles, and the secrets they lead to.

    settings  the TOML file, its profiles, environment and flags → `Settings`
    secrets   password_command / token_command: no shell, own process group, output capped
    show      `config show [--all]` and `config profiles`, secrets redacted
    edit      `config init`, and edits that keep the user's comments (tomlkit):
              `config use-profile`, a profile's theme saved from the console
    clouds    clouds.yaml / secure.yaml → the openstack discovery method's parameters

Imported by the headless path, so it stays light: no Textual, no httpx; subprocess,
tomlkit, tomli-w, YAML and difflib are imported only where they are used.
"""

from kostyor_tui.config.edit import edit_config, init_config, save_theme, use_profile
from kostyor_tui.config.secrets import COMMAND_TIMEOUT, MAX_OUTPUT_BYTES, run_secret_command
from kostyor_tui.config.settings import (
    APP_NAME,
    DEFAULT_API_URL,
    DEFAULT_PROFILE_NAME,
    ENV_OVERRIDES,
    ENV_VARIABLES,
    FILE_KEYS,
    PROFILE_KEYS,
    SECRET_KEYS,
    ConfigFile,
    Profile,
    Settings,
    Source,
    choose_config_path,
    default_audit_path,
    default_config_path,
    load_settings,
    parse_config,
    permission_warning,
    read_config_file,
)
from kostyor_tui.config.show import (
    all_profiles_summary,
    profiles_summary,
    render_all_profiles,
    render_profiles,
    render_settings,
    settings_summary,
)
from kostyor_tui.errors import ConfigError

PASSWORD_COMMAND_TIMEOUT = COMMAND_TIMEOUT


def run_password_command(argv: list[str], *, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run password_command (no shell) and return the first line of its output."""
    return run_secret_command(argv, what="password_command", timeout=timeout)


__all__ = [
    "APP_NAME",
    "COMMAND_TIMEOUT",
    "DEFAULT_API_URL",
    "DEFAULT_PROFILE_NAME",
    "ENV_OVERRIDES",
    "ENV_VARIABLES",
    "FILE_KEYS",
    "MAX_OUTPUT_BYTES",
    "PASSWORD_COMMAND_TIMEOUT",
    "PROFILE_KEYS",
    "SECRET_KEYS",
    "ConfigError",
    "ConfigFile",
    "Profile",
    "Settings",
    "Source",
    "all_profiles_summary",
    "choose_config_path",
    "default_audit_path",
    "default_config_path",
    "edit_config",
    "init_config",
    "load_settings",
    "parse_config",
    "permission_warning",
    "profiles_summary",
    "read_config_file",
    "render_all_profiles",
    "render_profiles",
    "render_settings",
    "run_password_command",
    "run_secret_command",
    "save_theme",
    "settings_summary",
    "use_profile",
]
