"""What counts as a secret in parameters and request bodies (domain.text)."""

import pytest

from kostyor_tui.domain.text import is_secret_name, secret_values


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("OS_PASSWORD", True),
        ("passwd", True),
        ("api_key", True),
        ("os_token", True),
        ("application_credential_secret", True),
        ("apiKey", True),
        ("X-Auth-Token", True),
        ("username", False),
        ("auth_url", False),
        ("computes", False),
        ("keystone_url", False),
        ("bypass", False),
        ("passive", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_values_at_any_depth_and_inside_urls() -> None:
    body = {
        "name": "lab",
        "method": "openstack",
        "parameters": {
            "username": "admin",
            "password": "hunter2",
            "auth_url": "http://admin:hunter3@keystone:5000/v3",
            "api_key": "",
        },
        "hosts": [{"token": "t-1"}, "https://u:p4ss@example/"],
    }
    assert sorted(secret_values(body)) == ["hunter2", "hunter3", "p4ss", "t-1"]
    assert secret_values({"auth_url": "http://keystone:5000/v3", "note": "a:b@c"}) == []
    assert secret_values(None) == []
