"""The JSON API (``/api/v1``): resources over JSON beside the Assist protocol, on the same
services; API keys, problem details (``problems``), OpenAPI from the models (``models``)."""
