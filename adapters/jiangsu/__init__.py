"""jiangsu province adapter."""
