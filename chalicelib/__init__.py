"""sora-studio backend: settings, job store, upstream providers and the services routes call."""
