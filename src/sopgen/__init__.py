"""sopgen: SOPs as YAML in git, compiled to controlled documents and run as cases."""

__version__ = "0.2.0"
