"""sora-studio's Chalice app: creates the app and registers its Blueprints, nothing more."""

from chalice import Chalice

from chalicelib import http as http_layer
from chalicelib import logs, runtime
from chalicelib.routes.api import api
from chalicelib.routes.schedule import schedule
from chalicelib.routes.webhooks import webhooks

app = Chalice(app_name="sora-studio")
http_layer.install(app)
logs.configure_logging()
runtime.init()
app.register_blueprint(api, url_prefix="/api")
app.register_blueprint(webhooks, url_prefix="/api")
app.register_blueprint(schedule)
