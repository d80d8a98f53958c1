"""Video jobs: create and the other routes (`service`), input checks (`validation`), storage
(`store`), upstream sync and archive (`lifecycle`, `refresher`), `idempotency`, `quotas` and
the public view (`view`)."""
