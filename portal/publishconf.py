"""Production overrides on top of pelicanconf.py.

Pelican loads this file by path, so import pelicanconf from this folder
explicitly rather than relying on the current directory.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: E402,F401,F403

# Only the canonical link uses it: page links stay relative so the portal
# works under any prefix (the demo server mounts it at /portal/).
CANBAO_SITE_URL = os.environ.get("CANBAO_PORTAL_URL", "").rstrip("/")
DELETE_OUTPUT_DIRECTORY = True
