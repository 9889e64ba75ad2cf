"""Audio in: the microphone and WAV files as sources of 16 kHz mono blocks, and voice activity."""
