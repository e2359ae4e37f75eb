"""Objects of an instance label mask: their table, their patches and patch normalisation."""
