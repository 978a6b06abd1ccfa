"""What each discovery method takes, as the real Kostyor server and the embedded one do
(docs/kostyor-api.md#quirk-discovery-parameters, #discovery-methods): the words a
dialog or a help text shows next to the parameters.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodGuide:
    example: str  # what to type as parameters, or "" for none
    needs: str  # what the method takes and where it looks
    # What leaving the parameters empty means, when there is no example to show.
    empty: str = "none"


METHOD_GUIDES: dict[str, MethodGuide] = {
    "openstack": MethodGuide(
        example="",
        needs=(
            "takes username, password, tenant_name and auth_url: give a cloud of your "
            "clouds.yaml instead of typing them; the server must reach that cloud"
        ),
        empty="empty: the cloud below gives them",
    ),
    "openstack-ansible": MethodGuide(
        example="",
        needs=(
            "the real server's plugin takes no parameters (it reads Ansible's configured "
            "inventory; any parameter makes it fail); the embedded server takes "
            "inventory=PATH, a file on the server's host"
        ),
        empty="none for the real server; inventory=PATH for the embedded one",
    ),
    "simulated": MethodGuide(
        example="controllers=3 computes=20 storage=2 version=mitaka",
        needs="a made-up topology on the embedded server; every parameter is optional",
    ),
}

UNKNOWN_METHOD = MethodGuide(
    example="key=value …",
    needs="a method this client does not know: its parameters are the server's to say",
)


def method_guide(method: str) -> MethodGuide:
    return METHOD_GUIDES.get(method, UNKNOWN_METHOD)
