"""Recommender library: numpy + scikit-learn, arrays in, arrays out."""
