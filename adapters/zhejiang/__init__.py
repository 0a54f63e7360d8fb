"""zhejiang province adapter."""
