"""`python app.py`: the Alliance Advisor web app with the settings from advisor.toml and ADVISOR_*."""

from advisor.settings import load_settings
from advisor.ui import serve

if __name__ == "__main__":
    serve(load_settings())
