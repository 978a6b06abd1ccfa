"""Every discovery method either server offers has its words in the domain's guide."""

from kostyor_tui.domain.discovery import METHOD_GUIDES, UNKNOWN_METHOD, method_guide
from kostyor_tui.server import upstream
from kostyor_tui.server.discovery import METHODS


def test_every_method_of_either_server_has_a_guide() -> None:
    offered = set(METHODS) | set(upstream.DISCOVERY_METHODS)
    assert offered <= set(METHOD_GUIDES)
    assert all(method_guide(method) is not UNKNOWN_METHOD for method in offered)


def test_a_method_this_client_does_not_know_says_so() -> None:
    assert "does not know" in method_guide("ironic").needs
