"""The content service app: ``huleedu-runtime serve-http examples.content_service.app:app``."""

from examples.content_service.startup_setup import setup_service
from quart import Quart

app = Quart(__name__)
setup_service(app)
