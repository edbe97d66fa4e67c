"""One loyalty programme across every channel: members, the points ledger, tiers."""
