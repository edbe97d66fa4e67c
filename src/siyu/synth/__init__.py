"""The synthetic brand generator: what a real brand would export, from each platform, in its real format."""
