"""The margin model of SPEC §5, exact: tiers, requirements, account figures, liquidation price."""
