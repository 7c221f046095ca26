"""Customer segments: KMeans on each customer's latest month, named by explicit rules, profiled,
with a marketing plan per segment. `serving.SegmentService` is what the segment_lookup tool loads."""
