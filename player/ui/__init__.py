"""The Qt user interface: the only package that imports PyQt6 (and pyqtgraph)."""
