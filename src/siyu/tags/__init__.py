"""Tags that describe each person; later, the tag pack, audiences and their bitmaps."""
