"""A local upstream that speaks the OpenAI Videos API (``/v1/videos``) and renders real media.

It is the default upstream of sora-studio for ``make run`` and for every test::

    from simulator import SimulatorServer

    sim = SimulatorServer(speed=200).start()   # port 0 picks a free port
    sim.url      # "http://127.0.0.1:<port>/v1", the base URL a client uses
    sim.stats    # {"create": 1, "retrieve": 4, "content": 1, "delete": 0, "remix": 0, "list": 0}
    sim.requests # [("POST", "/v1/videos"), ("GET", "/v1/videos/video_..."), ...]
    sim.stop()

Or from a shell: ``python -m simulator --port 8100`` (``--help`` lists the options and their
environment variables).

Behaviour, in brief:

* Routes: ``POST /v1/videos`` (JSON or multipart with an ``input_reference`` image),
  ``GET /v1/videos`` (``limit``/``after``/``order``), ``GET|DELETE /v1/videos/{id}``,
  ``POST /v1/videos/{id}/remix`` and ``GET /v1/videos/{id}/content?variant=video|thumbnail|
  spritesheet`` (``Range`` supported). Every request needs ``Authorization: Bearer <key>``
  (any non-empty key unless ``api_key`` is set); every error is OpenAI's envelope
  ``{"error": {"message", "type", "param", "code"}}``; every response has ``x-request-id``.
* Time: state is computed from ``clock``; a job takes ``(2 + 2 * seconds) / speed`` s:
  ``queued`` for the first 10 %, then ``in_progress`` 0..99, then ``completed`` once ffmpeg
  has finished its media (``expires_at = completed_at + expiry_seconds``; content is 404 after).
* Prompt markers: ``[fail:moderation]`` ends ``failed``/``moderation_blocked``;
  ``[fail:render]`` ends ``failed``/``internal_error``; ``[fail:create]`` answers 500 and
  ``[fail:ratelimit]`` answers 429 with ``retry-after: 1``; neither of those creates a job.
* Webhooks: with ``webhook_url`` and ``webhook_secret`` (``whsec_...``) it POSTs signed
  Standard Webhooks events ``video.completed`` / ``video.failed`` once per job.
"""

from .render import probe
from .server import SimulatorServer
from .webhooks import sign, verify

__all__ = ["SimulatorServer", "probe", "sign", "verify"]
