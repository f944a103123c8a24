"""attribution: who brought the order (explicit contributors, last touch, sales-manager confirmation)."""
