"""Kafka: the faust app, the pipeline's topics, compatibility measures for other brokers."""
