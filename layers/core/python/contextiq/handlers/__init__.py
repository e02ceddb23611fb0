"""Lambda entry-point builders shared by ``functions/*/handler.py`` (thin: event in, domain call, out)."""
