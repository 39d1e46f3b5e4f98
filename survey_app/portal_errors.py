"""The portal's one error: bad data handed to it, or a build that failed."""


class PortalError(ValueError):
    """The data handed to the portal is inconsistent, or the build failed."""
