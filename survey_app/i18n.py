"""Translation helpers.  Chinese is the source language; catalogues translate out of it.

``lazy`` marks messages built outside a request (validators, the form
definition) so they are translated when shown, in the reader's language.
"""

from flask_babel import gettext as _  # noqa: F401  (re-exported for modules)
from flask_babel import lazy_gettext as lazy  # noqa: F401

LANGUAGES = ("zh_CN", "en")
