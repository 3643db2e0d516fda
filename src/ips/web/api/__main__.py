"""``python -m ips.web.api > docs/json-api.openapi.json``: the JSON API's OpenAPI document, as
``/api/v1/openapi.json`` serves it."""

import json

from ips.web.api.app import create_api

print(json.dumps(create_api(None).openapi(), indent=2, ensure_ascii=False))
