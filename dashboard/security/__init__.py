"""Who may do what, and the guards around every request.

- :mod:`~dashboard.security.auth`: login, logout, sessions, roles and the authorizer.
- :mod:`~dashboard.security.oidc`: single sign-on with OpenID Connect ("Sign in with ...").
- :mod:`~dashboard.security.permissions`: :func:`~dashboard.security.permissions.can`, the one
  question every page, button and plugin asks of the authorizer.
- :mod:`~dashboard.security.headers`: CSRF protection, the Content-Security-Policy nonce and
  the security headers of every response.
- :mod:`~dashboard.security.proxies`: which reverse proxies' forwarded headers to believe.
- :mod:`~dashboard.security.throttle`: slowing down repeated failed logins.
- :mod:`~dashboard.security.audit`: the audit recorder (every write, refused or not) and the
  audit log's page.

May import: Flask and its extensions, :mod:`dashboard.i18n`, :mod:`dashboard.statedb`, the
shared modules (:mod:`dashboard.messages`, :mod:`dashboard.settings`, :mod:`dashboard.urls`)
and :mod:`dashboard.db` for what a refused write means. The web views and the plugins sit
above this layer and call it; it does not import them (what a table view's write changes
is told to the recorder by :mod:`dashboard.web.audit_changes`).
"""
