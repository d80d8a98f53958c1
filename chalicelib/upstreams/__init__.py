"""Video services: the provider interface and its errors (`base`), the choice of provider
(`registry`), the shared `retry` loop, and one module per protocol."""
