"""Alerts out to the world: webhooks (with a stored outbox) and MQTT."""
