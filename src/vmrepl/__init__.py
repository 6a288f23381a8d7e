"""vmrepl: automation for a Zerto-powered VM replication service on VMware vSphere."""

__version__ = "0.1.0"
