"""Files the program reads at run time, shipped inside its packages and found with
:mod:`importlib.resources` — never through the source tree's layout, so a wheel installed with
``pip install``, ``--user`` or ``--target`` finds them as an editable checkout does.

What ships where (the wheel carries ``bot/`` and ``flows/`` whole, see pyproject.toml):

==================================  ==========================================================
``bot/locales/<lang>/LC_MESSAGES``  the gettext catalogs (``ozbot.po``), read by bot.i18n
``bot/web/templates``, ``static``   the web chat's page, script and style
``bot/web/console/templates``, …    the agent console's pages, script and style
``bot/ozmap/sandbox/data``          the sandbox's seed network and the gazetteer's streets
==================================  ==========================================================

A new data directory (``bot/nlu/data/``, say) needs no packaging change: put it under the
package and read it with :func:`package_path`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["package_path"]


def package_path(package: str, *parts: str) -> Path:
    """The path of ``parts`` inside ``package`` (a dotted name), on disk.

    Wheels install unzipped, so the package's files are real files a :class:`~pathlib.Path`
    reaches (Starlette's ``StaticFiles`` and Jinja's ``FileSystemLoader`` need one). Nothing is
    checked here: the reader reports a missing file in its own words."""
    found = resources.files(package)
    for part in parts:
        found = found.joinpath(part)
    return Path(str(found))
