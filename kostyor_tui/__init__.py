"""kostyor-tui: the terminal console for Kostyor, the OpenStack rolling-upgrade service."""

__version__ = "0.1.0"
