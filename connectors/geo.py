"""Places customers share (a Telegram location, a WhatsApp pin), shown to agents as a link."""


def map_link(lat: float, lon: float) -> str:
    """An OpenStreetMap page centred on the point (no account, no API key)."""
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
