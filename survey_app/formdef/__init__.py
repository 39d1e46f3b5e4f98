"""Form definitions as data (forms/*.toml), and the one validator they drive.

The same :class:`FormDefinition` renders the web form, validates web and API
submissions, lays out the printed paper form and names the export columns, so
a field added to the TOML appears everywhere at once.

- :mod:`.errors`      DefinitionError (a wrong TOML, at load) and FieldError (one answer refused).
- :mod:`.model`       the parts of a definition: Choice, Check, Field, Section; and Result.
- :mod:`.cleaners`    the answer types (TYPES) and named constraints (CONSTRAINTS).
- :mod:`.conditions`  the condition language of relevance and checks (Facts, conditions_hold).
- :mod:`.definition`  FormDefinition: which fields are asked, and validation.
- :mod:`.parse`       parse_definition and load (checked at load), to_json for clients.

Callers use ``formdef.<name>`` for every name below, whichever module holds it.
"""

from .cleaners import CONSTRAINTS, IDEOGRAPHS, LANDLINE, MOBILE, NAME_CHARS, NAME_LONGEST, TYPES
from .conditions import (
    COMPARISONS,
    FIELD_OPS,
    QUANTITIES,
    Facts,
    add_months,
    conditions_hold,
    json_conditions,
)
from .definition import FormDefinition
from .errors import DefinitionError, FieldError
from .model import Check, Choice, Field, Result, Section
from .parse import CHECK_KEYS, load, parse_definition, to_json

__all__ = [
    "CHECK_KEYS", "COMPARISONS", "CONSTRAINTS", "FIELD_OPS", "IDEOGRAPHS", "LANDLINE", "MOBILE",
    "NAME_CHARS", "NAME_LONGEST", "QUANTITIES", "TYPES", "Check", "Choice", "DefinitionError", "Facts",
    "Field", "FieldError", "FormDefinition", "Result", "Section", "add_months", "conditions_hold",
    "json_conditions", "load", "parse_definition", "to_json",
]
