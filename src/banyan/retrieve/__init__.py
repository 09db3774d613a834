"""Retrieve: a ``Query`` runs through the routes a mode names, fused into one ranking of chunks."""

from banyan.retrieve.fusion import rrf
from banyan.retrieve.query import Query
from banyan.retrieve.routes import Route, build_base_routes, build_graph_routes
from banyan.retrieve.search import MODES, Retriever

__all__ = ["MODES", "Query", "Retriever", "Route", "build_base_routes", "build_graph_routes", "rrf"]
