"""Chalice Blueprints: thin routes that parse HTTP and call a service module. Route
Blueprints come from `chalicelib.http`, so every refusal and upstream failure a service raises
is answered in the contract's shape."""
