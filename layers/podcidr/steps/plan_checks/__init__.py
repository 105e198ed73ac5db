"""Plan's checks of what real accounts have beyond the seed, one module per concern. Each takes
what discovery found and either returns what Plan needs or raises the contract's error, with a
Cause that names what was found and what to do; none changes anything."""
