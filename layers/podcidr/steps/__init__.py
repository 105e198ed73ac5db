"""Step logic: one module per step of the workflow. Each takes clients and a model, returns the model."""
