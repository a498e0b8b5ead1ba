"""All SQL lives here: the store package behind the controllers."""
