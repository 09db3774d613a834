"""The HTTP server: a REST API, OpenAI/Ollama-compatible chat and the web UI over one ``Banyan``.

``create_app(bn, keys)`` builds the FastAPI application (``banyan serve`` runs it with uvicorn);
``KeyRing`` holds the API keys. Importing this package starts nothing.
"""

from banyan.server.app import create_app
from banyan.server.keys import ApiKey, KeyRing, NewKey
from banyan.server.state import ServerConfig

__all__ = ["ApiKey", "KeyRing", "NewKey", "ServerConfig", "create_app"]
