"""Where models are: resolution order, the catalog, verified downloads, the user's store."""
