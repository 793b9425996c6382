"""Value types of the margin domain. Imports nothing else of solvent."""
