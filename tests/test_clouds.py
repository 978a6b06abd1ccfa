"""The openstack discovery method's credentials from clouds.yaml (and secure.yaml), so that
no password is typed: the files found as OpenStack's tools find them, the cloud's auth
mapped to the method's parameters, and what is sent shown with the password redacted.

The discovery itself goes to the canned loopback server (tests/support/canned.py): the
embedded server has no `openstack` method, and the test needs to see the request body.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kostyor_tui.cli import main
from kostyor_tui.config import ENV_VARIABLES, ConfigError
from kostyor_tui.config.clouds import discovery_parameters, read_cloud
from kostyor_tui.errors import UsageError
from tests.support.canned import Answer, canned_server, json_answer

PASSWORD = "pw-Cloud-8817-secret"

CLOUDS = """\
clouds:
  lab:
    region_name: RegionOne
    auth:
      auth_url: https://keystone.lab.example:5000/v3
      username: admin
      project_name: admin-project
      user_domain_name: Default
  legacy:
    auth:
      auth_url: http://keystone.old:5000/v2.0
      username: ops
      tenant_name: ops-tenant
      password: 12345
  tokens:
    auth_type: token
    auth:
      auth_url: https://keystone.example:5000/v3
      token: abc
"""

SECURE = f"""\
clouds:
  lab:
    auth:
      password: {PASSWORD}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS)
    secure = tmp_path / "secure.yaml"
    secure.write_text(SECURE)
    return clouds, secure


def test_auth_maps_to_the_methods_parameters_with_secure_yaml_merged(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    found = read_cloud("lab", environ={}, directories=[tmp_path])
    assert found.path == files[0]
    assert found.secure_path == files[1]
    assert found.parameters == {
        "username": "admin",
        "password": PASSWORD,
        "tenant_name": "admin-project",  # from project_name
        "auth_url": "https://keystone.lab.example:5000/v3",
    }
    legacy = read_cloud("legacy", environ={}, directories=[tmp_path])
    assert legacy.parameters["tenant_name"] == "ops-tenant"
    assert legacy.parameters["password"] == "12345"  # YAML read it as a number


def test_files_are_found_in_order_and_os_client_config_file_comes_first(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "cwd", tmp_path / "etc"
    first.mkdir()
    second.mkdir()
    (second / "clouds.yaml").write_text(CLOUDS)
    (first / "clouds.yml").write_text("clouds:\n  lab:\n    auth: {username: from-first}\n")
    found = read_cloud("lab", environ={}, directories=[first, second])
    assert found.path == first / "clouds.yml"  # the first file found wins, not merged
    assert found.parameters == {"username": "from-first"}
    override = tmp_path / "elsewhere.yaml"
    override.write_text("clouds:\n  lab:\n    auth: {username: from-override}\n")
    found = read_cloud(
        "lab", environ={"OS_CLIENT_CONFIG_FILE": str(override)}, directories=[first, second]
    )
    assert (found.path, found.parameters) == (override, {"username": "from-override"})
    secure = tmp_path / "my-secure.yaml"
    secure.write_text("clouds:\n  lab:\n    auth: {password: from-secure}\n")
    found = read_cloud(
        "lab",
        environ={"OS_CLIENT_CONFIG_FILE": str(override), "OS_CLIENT_SECURE_FILE": str(secure)},
        directories=[first],
    )
    assert found.parameters == {"username": "from-override", "password": "from-secure"}


@pytest.mark.parametrize(
    ("cloud", "clouds_text", "expected"),
    [
        ("nope", CLOUDS, r"no cloud 'nope' in .*clouds\.yaml; clouds there: lab, legacy, tokens"),
        ("tokens", CLOUDS, "uses auth_type 'token'"),
        ("lab", f"clouds:\n  lab:\n    auth: [password: {PASSWORD}\n", r"line \d+.*not valid YAML"),
        ("lab", "clouds: 3\n", "clouds must be a mapping"),
        ("lab", "clouds:\n  lab:\n    auth: nope\n", r"clouds\.lab\.auth must be a mapping"),
    ],
)
def test_problems_are_one_line_and_never_echo_the_file(
    tmp_path: Path, cloud: str, clouds_text: str, expected: str
) -> None:
    (tmp_path / "clouds.yaml").write_text(clouds_text)
    with pytest.raises(ConfigError, match=expected) as caught:
        read_cloud(cloud, environ={}, directories=[tmp_path])
    assert PASSWORD not in caught.value.one_line()


def test_no_clouds_yaml_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no clouds\.yaml found for cloud 'lab'"):
        read_cloud("lab", environ={}, directories=[tmp_path])


def test_discovery_parameters_explicit_values_win_and_os_cloud_is_the_default(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    sent, note = discovery_parameters(
        "openstack", {"tenant_name": "other"}, "lab", environ={}, directories=[tmp_path]
    )
    assert sent["tenant_name"] == "other"
    assert sent["password"] == PASSWORD
    assert note is not None
    assert PASSWORD not in note
    assert "password=********" in note
    assert "cloud 'lab'" in note
    # OS_CLOUD when --os-cloud is not given...
    by_env, _ = discovery_parameters(
        "openstack", {}, None, environ={"OS_CLOUD": "lab"}, directories=[tmp_path]
    )
    assert by_env == sent | {"tenant_name": "admin-project"}
    # ...unless every parameter was given on the command line.
    given = {"username": "u", "password": "p", "tenant_name": "t", "auth_url": "http://k"}
    assert discovery_parameters(
        "openstack", given, None, environ={"OS_CLOUD": "absent"}, directories=[tmp_path]
    ) == (given, None)
    # Other methods are left alone, and refuse --os-cloud.
    assert discovery_parameters("simulated", {"computes": "3"}, None, environ={}) == (
        {"computes": "3"},
        None,
    )
    with pytest.raises(UsageError, match="--os-cloud applies to the openstack"):
        discovery_parameters("simulated", {}, "lab", environ={})


def test_a_missing_parameter_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "clouds.yaml").write_text("clouds:\n  lab:\n    auth: {username: admin}\n")
    with pytest.raises(UsageError, match="gives no password, tenant_name, auth_url") as caught:
        discovery_parameters("openstack", {}, "lab", environ={}, directories=[tmp_path])
    assert "pass it as key=value" in caught.value.one_line()


# Through the headless command, to a server that records what it was sent


class DiscoveryServer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.bodies: list[Any] = []

    def __call__(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        if method == "GET" and path == "/clusters":
            return json_answer(200, [])
        if method == "POST" and path == "/clusters/discover":
            self.bodies.append(json.loads(body))
            if self.fail:
                # A server that repeats what it was given in its error.
                return json_answer(500, {"message": f"keystone refused {body.decode()}"})
            return json_answer(
                201, {"id": "c-new", "name": "lab", "version": "mitaka", "status": None}
            )
        return json_answer(404, {"message": "not found"})


@pytest.fixture
def environment(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(files[0]))
    monkeypatch.setenv("OS_CLIENT_SECURE_FILE", str(files[1]))
    config = tmp_path / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    monkeypatch.setenv("KOSTYOR_CONFIG", str(config))
    yield tmp_path


def audit_entries(state: Path) -> list[dict[str, Any]]:
    path = state / "kostyor-tui" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_discover_cluster_openstack_with_os_cloud_sends_the_clouds_credentials(
    environment: Path, capsys: pytest.CaptureFixture[str], private_state_directory: Path
) -> None:
    handler = DiscoveryServer()
    with canned_server(handler) as server:
        code = main(
            ["--api-url", server.url, "--command", "discover-cluster", "openstack", "lab",
             "--os-cloud", "lab", "--output", "json"]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["id"] == "c-new"
    (body,) = handler.bodies
    assert body == {
        "name": "lab",
        "method": "openstack",
        "parameters": {
            "username": "admin",
            "password": PASSWORD,
            "tenant_name": "admin-project",
            "auth_url": "https://keystone.lab.example:5000/v3",
        },
    }
    assert err.startswith("kostyor-tui: note: openstack discovery: cloud 'lab' from ")
    assert "password=********" in err
    assert "username=admin" in err
    assert PASSWORD not in out + err
    (entry,) = audit_entries(private_state_directory)
    assert entry["action"] == "discover"
    assert entry["parameters"] == ["auth_url", "password", "tenant_name", "username"]
    assert entry["outcome"] == "done"
    assert PASSWORD not in json.dumps(entry)


def test_os_cloud_from_the_environment_and_a_server_echoing_the_password(
    environment: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    private_state_directory: Path,
) -> None:
    monkeypatch.setenv("OS_CLOUD", "lab")
    handler = DiscoveryServer(fail=True)
    with canned_server(handler) as server:
        code = main(["--api-url", server.url, "--command", "discover-cluster", "openstack", "lab"])
    out, err = capsys.readouterr()
    assert code == 7
    assert handler.bodies[0]["parameters"]["password"] == PASSWORD
    assert "keystone refused" in err
    assert "********" in err
    assert PASSWORD not in out + err
    (entry,) = audit_entries(private_state_directory)
    assert entry["outcome"] == "failed"
    assert entry["sent"] is True
    assert PASSWORD not in json.dumps(entry)
