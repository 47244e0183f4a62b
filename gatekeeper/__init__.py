"""gatekeeper: a build-pipeline integrity gate."""

__version__ = "0.1.0"
