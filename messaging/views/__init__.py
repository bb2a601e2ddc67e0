"""The web app's messaging pages (inbox, contacts, dashboard, number settings): thin views over the selectors and
services the API uses."""
