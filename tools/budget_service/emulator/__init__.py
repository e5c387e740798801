"""AWS as the tests, benches and local stack need it: moto with DynamoDB's isolation, Lambda
event and context shapes, the sample events."""
