"""The local stack behind `make run`: embedded DynamoDB/S3 (moto), the simulator, the Chalice
app, the refresher loop and the static frontend, on one origin."""
