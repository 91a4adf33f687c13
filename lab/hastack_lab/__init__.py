"""The hastack lab: controller hosts as Linux namespaces, a real Salt master."""

from .lab import Lab, LabError

__all__ = ["Lab", "LabError"]
