"""Load shapes, one per file (Locust uses any shape class it finds in the files it is given)."""
