"""`python app.py`: the Alliance Advisor web app with the settings from advisor.toml and ADVISOR_*."""

from advisor.core.settings import load_settings
from advisor.web.app import serve

if __name__ == "__main__":
    serve(load_settings())
