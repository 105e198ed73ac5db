"""The `podcidr` command: start, watch and list migrations of a deployed podcidr stack."""
