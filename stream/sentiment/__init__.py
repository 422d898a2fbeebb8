"""The financial sentiment model: data, training, export to Triton, evaluation."""
