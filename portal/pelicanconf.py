"""Pelican settings for the public policy portal (全民参保 政策园地).

Build it through ``survey_app.portal.build_portal``: the contact directory, the
campaign calendar and the notices come from data the app passes in as the
``CANBAO`` setting, so a bare ``pelican`` run has nothing to render them from.
Relative paths below resolve against this file (Pelican's ``read_settings``).
"""

SITENAME = "全民参保 政策园地"
SITE_TAGLINE = "城乡居民养老保险、医疗保险，一看就懂"
AUTHOR = "全民参保登记工作组"
DEFAULT_LANG = "zh-CN"
TIMEZONE = "Asia/Shanghai"

PATH = "../content"
THEME = "theme"
OUTPUT_PATH = "output"
PLUGIN_PATHS = ["plugins"]
PLUGINS = ["canbao_data"]

# Every guide is a page with an ASCII ``Slug:``.  Should someone forget one,
# keep the Chinese title as the slug: Pelican's default would transliterate it
# into toneless, often wrong pinyin (了 -> "liao").
SLUGIFY_USE_UNICODE = True
PAGE_PATHS = ["pages"]
ARTICLE_PATHS = ["articles"]
STATIC_PATHS = []
# The campaign TOML is app data, read by survey_app.campaign, not a page.
IGNORE_FILES = [".#*", "data"]
PAGE_URL = "{slug}.html"
PAGE_SAVE_AS = "{slug}.html"
ARTICLE_URL = "news/{slug}.html"
ARTICLE_SAVE_AS = "news/{slug}.html"

# Relative links let the same output be served under any prefix by the demo
# server, or opened from a USB stick with file://.
RELATIVE_URLS = True

# A policy guide, not a blog: no feeds, archives, authors, tags or categories.
DIRECT_TEMPLATES = ["index", "search"]
SEARCH_SAVE_AS = "search.html"
FEED_ALL_ATOM = None
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
ARCHIVES_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
TAG_SAVE_AS = ""
TAGS_SAVE_AS = ""
DRAFT_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DEFAULT_PAGINATION = False
DISPLAY_PAGES_ON_MENU = False
DISPLAY_CATEGORIES_ON_MENU = False

# Names in the contact directory and notice titles come from village data:
# escape everything, and mark only rendered Markdown as safe in the theme.
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True}

MARKDOWN = {
    "extension_configs": {
        # extra brings tables, and attr_list for ASCII anchors ({#tiers}).
        "markdown.extensions.extra": {},
    },
    "output_format": "html5",
}

# Output must not depend on when it was built, except for "today".
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
OUTPUT_RETENTION = []

# The menu on every page, in the order a villager is likely to need it.
MENU = [
    ("首页", "index.html"),
    ("谁要参保", "who-should-enrol.html"),
    ("怎么缴费", "how-to-pay.html"),
    ("征缴日历", "calendar.html"),
    ("网格员上门", "household-visit.html"),
    ("联系网格员", "contacts.html"),
    ("有问题找谁", "problems.html"),
    ("公示公告", "notices.html"),
    ("常见问题", "faq.html"),
]
# Absolute address of the site, for the canonical link; empty in development.
CANBAO_SITE_URL = ""
