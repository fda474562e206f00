"""dashboard: a zero-code admin site for any existing SQL database.

The application factory is :func:`dashboard.app.create_app`.
"""
