"""Audiences (圈选人群包): boolean expressions over tags and numeric fields, counted on bitmaps."""
