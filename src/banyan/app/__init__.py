"""The application layer: every use case as a typed operation over one index.

``banyan.api.Banyan`` is the facade the CLI, the REST server and the MCP server call. The pieces
it composes live here: ``view`` (the read side: indexes and routes loaded for one store version,
shared by threads) and ``graph_ops`` (entity pages, export, unmerge, communities).
"""
