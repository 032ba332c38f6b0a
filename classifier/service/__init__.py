"""The HTTP service (``complaint-router serve``): FastAPI app, settings, micro-batching router, metrics.

``create_app(model_path, settings)`` in ``classifier.service.app`` builds the app; ``classifier.service.server.serve``
runs it under uvicorn. FastAPI and uvicorn are imported only by this package, never on the routing path.
"""
