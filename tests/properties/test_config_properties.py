"""Arbitrary config files and environment values into the config loader.

Every input ends in Settings or the project's ConfigError (one line), never in
another exception. The files are real files in a temporary directory; the
environment is passed explicitly so the test never reads the real one.
Generated profiles never contain password_command, so nothing is ever run.
"""

import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui.config import ENV_OVERRIDES, ConfigError, Settings, load_settings

toml_scalars = (
    st.text(max_size=30)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.sampled_from(["http://127.0.0.1:9", "https://ops.example/kostyor/", "ftp://x", ""])
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
profile_keys = st.sampled_from(
    [
        "api_url",
        "region",
        "username",
        "password",
        "token",
        "verify_tls",
        "ca_bundle",
        "timeout",
        "poll_interval",
        "unknown_key",
    ]
)
profiles = st.dictionaries(profile_keys, toml_values, max_size=6)
config_documents = st.fixed_dictionaries(
    {},
    optional={
        "default_profile": toml_values | st.sampled_from(["default", "lab", "missing"]),
        "profiles": st.dictionaries(
            st.sampled_from(["default", "lab", "prod"]) | st.text(max_size=6),
            profiles | toml_values,
            max_size=3,
        ),
        "stray": toml_values,
    },
)


@st.composite
def config_texts(draw: st.DrawFn) -> bytes:
    """Valid TOML of the right or wrong shape, damaged TOML, any text, any bytes."""
    kind = draw(st.sampled_from(["document", "damaged", "text", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    text = tomli_w.dumps(draw(config_documents))
    if kind == "damaged" and text:
        cut = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:cut] + draw(st.text(max_size=10)) + text[cut:][: draw(st.integers(0, 50))]
    return text.encode("utf-8", "surrogatepass")


env_values = st.dictionaries(
    st.sampled_from([*ENV_OVERRIDES, "KOSTYOR_PROFILE"]),
    st.text(max_size=30).filter(lambda value: "\x00" not in value),
    max_size=4,
)


def _load(content: bytes, environ: dict[str, str], **flags: Any) -> Settings | ConfigError:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "config.toml"
        path.write_bytes(content)
        try:
            return load_settings(config_path=path, environ=environ, **flags)
        except ConfigError as error:
            return error


def _check(outcome: Settings | ConfigError) -> None:
    if isinstance(outcome, ConfigError):
        message = outcome.one_line()
        assert message
        assert "\n" not in message
    else:
        assert outcome.api_url.startswith(("http://", "https://"))
        assert outcome.profile.timeout > 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=config_texts())
def test_any_config_file_gives_settings_or_config_error(content: bytes) -> None:
    _check(_load(content, environ={}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=config_texts(),
    environ=env_values,
    profile=st.none() | st.text(max_size=8),
    api_url=st.none() | st.text(max_size=30),
)
def test_config_with_environment_and_flags(
    content: bytes, environ: dict[str, str], profile: str | None, api_url: str | None
) -> None:
    _check(_load(content, environ=environ, profile=profile, api_url=api_url))


def test_the_generators_reach_valid_settings() -> None:
    # Guards the properties above against only ever exercising the error path.
    document = {"default_profile": "lab", "profiles": {"lab": {"api_url": "http://127.0.0.1:9"}}}
    outcome = _load(tomli_w.dumps(document).encode(), environ={"KOSTYOR_TIMEOUT": "3"})
    assert isinstance(outcome, Settings)
    assert outcome.api_url == "http://127.0.0.1:9"
    assert outcome.profile.timeout == 3
