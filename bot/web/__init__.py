"""The web process: messenger webhooks, the web chat and the operations endpoints, on Starlette.

:func:`create_app` builds the application; its lifespan builds everything else.
"""

from bot.web.app import create_app

__all__ = ["create_app"]
