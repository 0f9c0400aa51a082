"""Settings, read once at the edge into a frozen object (pydantic-settings).

Every value comes from the process environment, falling back to a ``.env`` file in the working
directory (the environment wins). Nothing here runs at import time: the CLI and the web lifespan
call :func:`load_settings` and pass the result down. Secrets never appear in ``repr``.

The package, by concern: :mod:`~bot.settings.fields` (how a setting is declared, its value
types, :func:`mask`); one module a group of blocks (:mod:`~bot.settings.general`,
:mod:`~bot.settings.ozmap`, :mod:`~bot.settings.service` for plans and people,
:mod:`~bot.settings.addresses`, :mod:`~bot.settings.web`, :mod:`~bot.settings.channels`);
:mod:`~bot.settings.model` joins the blocks into :class:`Settings` and words the errors;
:mod:`~bot.settings.sources` and :mod:`~bot.settings.loading` read the variables;
:mod:`~bot.settings.example` writes ``.env.example``.

**Adding a setting** is one declaration in its block's class (a new block: a class of its own,
started with ``section=``, added to :class:`Settings`' bases in ``model.py``)::

    nlu_threshold: float = setting(0.6, "OZBOT_NLU_THRESHOLD", "lowest confidence acted on")

The variable, the default, the comment and the example of ``.env.example`` all come from it;
regenerate the file with ``ozbot settings example > .env.example`` (a test fails until you do).
Give ``example=`` when the default is not a good sample, and ``secret=True`` for credentials
(masked in ``repr`` and ``ozbot settings show``, a dummy value in the example).
"""

from __future__ import annotations

from bot.settings.example import env_example
from bot.settings.fields import mask, setting
from bot.settings.loading import load_settings, read_setting
from bot.settings.model import SECRET_FIELDS, Settings, env_name

__all__ = [
    "SECRET_FIELDS",
    "Settings",
    "env_example",
    "env_name",
    "load_settings",
    "mask",
    "read_setting",
    "setting",
]
