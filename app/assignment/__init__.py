"""Who answers a conversation: each inbox's assignment policy (a pick-up queue or round
robin), agents' capacities, the atomic take, and auto-resolve."""
