"""anhui province adapter."""
