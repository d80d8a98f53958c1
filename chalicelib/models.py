"""PynamoDB models: every item type of the one jobs table, and the module that writes each.

| item | id | written only by |
|---|---|---|
| `JobModel` | job uuid | `jobs/store.py` |
| `UpstreamLink` | `upstream#<upstream video id>` | `jobs/store.py` |
| `IdempotencyRecord` | `idem#<owner>#<sha256>` | `jobs/idempotency.py` |
| `QuotaCounter` | `quota#...` | `jobs/quotas.py` |
| `WebhookDelivery` | `webhook#<delivery id>` | `webhooks/service.py` |
| `CatalogListing` | `catalog#<provider>` | `catalog/store.py` |
| `RefreshPause` | `refresh#pause` | `jobs/refresher.py` |

One table keeps deploys simple. Only job items carry `owner` and `pending`, so the two
global secondary indexes hold jobs alone: `history-index` (owner, newest first) and the
sparse `pending-index`, which holds a job only while its `pending` attribute exists. The
refresher therefore reads O(pending jobs), never O(history).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import Settings

PENDING_STATUSES = ("queued", "in_progress")
TERMINAL_STATUSES = ("completed", "failed")
STATUSES = PENDING_STATUSES + TERMINAL_STATUSES
PENDING_MARK = "P"
COUNTER_MARK = "Q"  # pending-index hash key of the pending-slot counters


def is_conditional_failure(exc: Exception) -> bool:
    """True when DynamoDB refused a write because its condition did not hold."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class TableItem(Model):
    """The base of every item type: they share the jobs table, so they share this `Meta`,
    which `bind_models` points at the configured table, region and endpoint."""

    class Meta:
        table_name = "sora-studio-jobs"
        region = "us-east-1"
        host: str | None = None


class HistoryIndex(GlobalSecondaryIndex["JobModel"]):
    class Meta:
        index_name = "history-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class PendingIndex(GlobalSecondaryIndex["JobModel"]):
    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class JobModel(TableItem):
    class Meta(TableItem.Meta):
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    created_key = UnicodeAttribute()  # "<created_at ISO with microseconds>#<id>": sorts by time
    pending = UnicodeAttribute(null=True)  # PENDING_MARK while pending; removed when terminal

    prompt = UnicodeAttribute()
    prompt_lc = UnicodeAttribute()  # lower-cased prompt for case-insensitive search
    model = UnicodeAttribute()
    provider = UnicodeAttribute(default="openai")
    size = UnicodeAttribute()
    seconds = NumberAttribute()
    status = UnicodeAttribute(default="queued")
    progress = NumberAttribute(default=0)
    estimated_cost_usd = NumberAttribute(default=0)
    cost_usd = NumberAttribute(null=True)  # what the upstream says it charged, once known
    remixed_from = UnicodeAttribute(null=True)
    reference_key = UnicodeAttribute(null=True)
    reference_type = UnicodeAttribute(null=True)
    # Creative controls (issue 14): the stored last frame and reference images (media keys,
    # in the order given), the sound switch (None: the model has none) and the seed.
    last_frame_key = UnicodeAttribute(null=True)
    reference_keys = ListAttribute(of=UnicodeAttribute, null=True)
    audio = BooleanAttribute(null=True)
    seed = NumberAttribute(null=True)
    extended_from = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    content_ready_at = UTCDateTimeAttribute(null=True)

    # Upstream bookkeeping
    upstream_id = UnicodeAttribute(null=True)
    upstream_status = UnicodeAttribute(null=True)
    upstream_expires_at = NumberAttribute(null=True)  # Unix seconds; content gone after it
    checked_at = NumberAttribute(default=0)  # Unix seconds of the last upstream refresh

    # Archive to S3: "none" -> "archiving" (leased) -> "archived"
    archive_state = UnicodeAttribute(default="none")
    archive_lease_until = NumberAttribute(default=0)
    archive_token = UnicodeAttribute(null=True)  # which writer holds the archive lease
    archived_variants = UnicodeSetAttribute(null=True)
    archive_attempts = NumberAttribute(default=0)
    archive_error = UnicodeAttribute(null=True)

    # Deleted by the user while upstream still renders: hidden, removed once terminal.
    deleted_at = NumberAttribute(null=True)
    # Set in the same transaction that gives the job's pending slot back: at most once.
    slot_released_at = NumberAttribute(null=True)

    version = VersionAttribute()

    history_index = HistoryIndex()
    pending_index = PendingIndex()

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES


class IdempotencyRecord(TableItem):
    """`id` is `idem#<owner>#<sha256 of the key>`; remembers which job a key produced."""

    id = UnicodeAttribute(hash_key=True)
    body_hash = UnicodeAttribute()
    job_id = UnicodeAttribute()
    state = UnicodeAttribute(default="in_flight")  # "in_flight" -> "done"
    ttl = TTLAttribute()


class WebhookDelivery(TableItem):
    """`id` is `webhook#<webhook-id>`; a delivery seen once is acknowledged without work."""

    id = UnicodeAttribute(hash_key=True)
    ttl = TTLAttribute()


class UpstreamLink(TableItem):
    """`id` is `upstream#<upstream video id>`; lets a webhook find the job it is about."""

    id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute()

    @staticmethod
    def key(upstream_id: str) -> str:
        return f"upstream#{upstream_id}"


class CounterIndex(GlobalSecondaryIndex["QuotaCounter"]):
    """The pending-index seen from the counters' side (hash key COUNTER_MARK)."""

    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class QuotaCounter(TableItem):
    """Spend-guard counters: `quota#pending#<owner>`, `quota#pending#*` (global) and
    `quota#spend#<owner>#<YYYY-MM-DD>`; changed only by conditional, transactional writes."""

    id = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(null=True)
    cents = NumberAttribute(null=True)
    ttl = TTLAttribute(null=True)
    # Pending-slot counters also sit in the sparse pending-index (under COUNTER_MARK, keyed by
    # owner), so the reconciliation finds every one of them in O(counters), never by a scan.
    pending = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute(null=True)
    # What the last reconciliation saw: a drift seen twice with no write between is corrected.
    seen_count = NumberAttribute(null=True)
    seen_expected = NumberAttribute(null=True)

    counters_index = CounterIndex()


class CatalogListing(TableItem):
    """`id` is `catalog#<provider>`: the last good model listing an upstream gave, kept so a
    cold start reads one item and a failed refresh leaves the list as it was."""

    id = UnicodeAttribute(hash_key=True)
    models_json = UnicodeAttribute(null=True)  # our catalog dicts, JSON; absent until a success
    fetched_at = NumberAttribute(null=True)  # Unix seconds of the last good listing
    next_attempt_at = NumberAttribute(default=0)  # one refresher claims each attempt
    last_error = UnicodeAttribute(null=True)


class RefreshPause(TableItem):
    """`id` is `refresh#pause`: until when (Unix seconds) every refresher, the tick and each
    of its workers, holds its upstream calls after an upstream answered 429; one small item
    each refresher reads once per batch of jobs."""

    id = UnicodeAttribute(hash_key=True)
    until = NumberAttribute(default=0)


ALL_MODELS: tuple[type[Model], ...] = (
    JobModel,
    IdempotencyRecord,
    WebhookDelivery,
    UpstreamLink,
    QuotaCounter,
    CatalogListing,
    RefreshPause,
)


def bind_models(settings: Settings) -> None:
    """Point every model at the configured table, region and endpoint (connections are made
    lazily)."""
    for model in ALL_MODELS:
        model.Meta.table_name = settings.jobs_table
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint_url or None
        model._connection = None
    for index in (JobModel.history_index, JobModel.pending_index, QuotaCounter.counters_index):
        index._connection = None  # type: ignore[attr-defined]
