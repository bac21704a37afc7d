"""The browser client: pages rendered by Jinja2, behaviour in plain ES modules."""
