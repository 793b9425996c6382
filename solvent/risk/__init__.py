"""Vectorized screening over plain arrays. Floats here only ever select candidates; every
decision is confirmed by the exact model in `solvent.margin` before anything is posted."""
