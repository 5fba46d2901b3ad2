"""Typed settings for every Carebridge component, and the example YAML files."""
