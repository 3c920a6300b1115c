"""Drive-letter and CSV compliance across cluster nodes: pure rules over node inventories."""
