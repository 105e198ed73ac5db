"""One module of logic per step; handlers in functions/<step>/app.py call them."""
