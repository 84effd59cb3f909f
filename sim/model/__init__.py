"""The model: the validated scenario types, distributions, and the loader that reads them."""
