"""Signed upstream webhooks: verification (`signature`) and handling (`service`)."""
