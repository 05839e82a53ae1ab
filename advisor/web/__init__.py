"""The app people use: chat, maintainer's desk, JSON API, rendering, sanitising, access and limits."""
