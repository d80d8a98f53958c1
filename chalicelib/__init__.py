"""sora-studio's backend. `routes/` (Chalice Blueprints) call the domain packages: `jobs/`,
`media/`, `webhooks/`, `auth/`, `catalog/` and `upstreams/` (one module per upstream protocol);
the platform modules beside them (config, runtime, models, errors, http, secrets, aws, clock,
logs) serve them all."""
