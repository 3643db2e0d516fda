"""The operator console (``/admin``), for the operator's own staff: its routes, pages and
session."""
