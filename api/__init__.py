"""farmtrace.api: the front door — settings, the app factory (the one composition root), JSON routes, CLI."""
