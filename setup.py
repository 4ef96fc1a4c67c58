"""Package discovery: every ``chatserver.*`` package, so a new one can never be left out of
a wheel, plus the widget and the console, which live at the top of the repository and ship
inside the package (pyproject.toml maps their folders). Everything else is pyproject.toml's."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["chatserver", "chatserver.*"]),
        "chatserver.widget",
        "chatserver.console",
    ]
)
