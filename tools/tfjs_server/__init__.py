"""A development server for converted TF.js models: `bazel run //pkg:name.serve`.

It serves a fixed table of files (the model directories, the TF.js bundles
and a page that runs every signature) over HTTP with correct content types
and CORS, and nothing else.
"""

from tfjs_server.server import make_server
from tfjs_server.site import Site, SiteError, load_site

__all__ = ["Site", "SiteError", "load_site", "make_server"]
