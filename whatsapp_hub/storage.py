"""The static files' storage in production (STORAGES["staticfiles"] with DEBUG=0)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """collectstatic writes every file under a name with its content's hash (css/app.3f2a9c1b7e4d.css) beside the
    plain one, a gzip copy of each, and the manifest `{% static %}` reads. A hashed name never changes content, so
    nginx and whitenoise let browsers keep it for a year; a deploy changes the names.

    The pages' scripts are ES modules importing each other (`import { api } from "./app.js";`): their imports are
    rewritten to the hashed names too, or a module kept for a year would import whatever ./app.js is today."""

    support_js_module_import_aggregation = True

    # No source maps are shipped: the vendored Chart.js names one it does not come with, which would stop
    # collectstatic. Stylesheets keep all of Django's rewriting (url(), @import).
    patterns = tuple((glob, rules) for glob, rules in CompressedManifestStaticFilesStorage.patterns if glob != "*.js")
