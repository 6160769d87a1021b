"""The case desk: `sopgen serve`, a web application over the case service layer.

    app.py       the ASGI application factory (Starlette)
    auth.py      sessions, CSRF, API tokens, and who may do what (one place)
    feeds.py     `/feeds/{token}.ics`: a user's open steps as a live calendar
    api.py       the JSON API for CRM integration
    pages.py     the server-rendered pages (sign-in, My work, Cases, case, Dashboard)
    cli.py       `sopgen user …` and `sopgen serve`

Routes parse the request, call the case service (`sopgen.cases`), and render
a template or JSON; they hold no business rule.
"""
