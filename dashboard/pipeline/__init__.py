"""One camera's frames through detector, engine, alerts and records: the runner thread, its Ray twin, the batch facade."""
