"""Speech recognition engines behind one neutral interface (base.py); Vosk is one of them."""
