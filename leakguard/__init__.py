"""LeakGuard: find leaked credentials, map who uses them, rotate them without an outage."""

__version__ = "0.1.0"
