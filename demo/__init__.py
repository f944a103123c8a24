"""The orderflow demo: seed scenarios through a throwaway system (`make demo`)."""
