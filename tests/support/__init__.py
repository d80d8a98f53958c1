"""What the tests share. Fixtures live in the conftests (tests/conftest.py for the backend:
`simulator`, `app_env`, `aws`, `client`, `uploads`, `faults`, `secret`); the helpers here:

- `api`: `post_json`, `get`, `body` through the Chalice test client.
- `wait`: `wait_until(predicate, timeout, step, what)`, the one way to wait.
- `jobs`: job factories (`new_job`, `stored_job`, `create_job`, `seed_jobs`, `completed_job`),
  `settle` (refresh until terminal), `finish_upstream` and the checks (`load`, `s3_bytes`,
  `assert_settled`, ...).
- `clock`: `MovableClock`, the shared `CLOCK` of tests marked `movable_clock`, and
  `frozen_clock` for the simulator's own tests.
- `env`: the environment every backend test runs in, `reload_runtime()`.
- `aws`: `MotoAws` (moto once per session, emptied per test), `serialised_dynamodb` (the one
  moto lock), `shared_botocore_loader`, `table_items`.
- `faults`, `webhooks`, `images`, `video`, `simulator`: fault injection, signed deliveries
  and a receiver, test images, looking into MP4s, a client bound to one simulator.
- `devserver`: `DevServer`, the one `python -m devserver` launcher.
- `gateway`, `vendor_sdk`, `tool_cache`: LiteLLM and the OpenRouter SDK, installed once per
  machine and started only by the session fixture of a test that needs them.
- `infra`, `moto_cognito`: the infra tests' template, calls and Cognito handlers for moto.
"""
