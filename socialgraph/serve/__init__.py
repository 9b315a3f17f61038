"""The HTTP service over the predictor: :func:`~socialgraph.serve.app.create_app` (FastAPI) and the model it
serves, :class:`~socialgraph.serve.service.ModelService`; ``socialgraph serve`` runs it with uvicorn."""
