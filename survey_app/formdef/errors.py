"""The two errors of form definitions: a wrong definition, and an answer refused."""


class DefinitionError(ValueError):
    """The TOML itself is wrong: fail loudly at load, never at a user."""


class FieldError(ValueError):
    """One answer is not acceptable; the message is shown next to the field."""
