"""HTML health reports: rendering (Jinja2, self-contained HTML) and delivery (SMTP)."""
