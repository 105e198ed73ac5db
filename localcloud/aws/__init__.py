"""The twin's AWS side: moto in server mode plus what moto lacks (see server.LocalAws)."""
