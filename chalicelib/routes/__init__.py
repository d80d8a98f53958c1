"""Chalice Blueprints: thin routes that parse HTTP and call a service module."""
