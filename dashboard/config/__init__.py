"""Every setting a user or the environment can give: its type, default, bounds and choices, defined once."""
