"""The Telegram front end: python-telegram-bot handlers over the answering service.

:func:`bot.telegram.app.build_application` wires everything; :func:`bot.telegram.serve.serve` runs it.
"""
