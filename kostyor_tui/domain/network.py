"""What counts as this machine only: the embedded server and the web face listen on
loopback unless told otherwise, and refuse any other address without protection."""

import ipaddress


def is_loopback(host: str) -> bool:
    """`localhost`, or an IPv4/IPv6 loopback address; a name other than localhost is not
    (it may resolve anywhere)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
