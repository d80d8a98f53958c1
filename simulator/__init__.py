"""A local upstream that speaks the OpenAI Videos API (``/v1/videos``) and renders real media.

It is the default upstream of sora-studio for ``make run`` and for every test::

    from simulator import SimulatorServer

    sim = SimulatorServer(speed=200).start()   # port 0 picks a free port
    sim.url      # "http://127.0.0.1:<port>/v1", the base URL a client uses
    sim.stats    # {"create": 1, "retrieve": 4, "content": 1, "delete": 0, "remix": 0, "list": 0,
                 #  "extend": 0}
    sim.requests # [("POST", "/v1/videos"), ("GET", "/v1/videos/video_..."), ...]
    sim.stop()

Or from a shell: ``python -m simulator --port 8100`` (``--help`` lists the options and their
environment variables).

Behaviour, in brief:

* Routes: ``POST /v1/videos`` (JSON or multipart with an ``input_reference`` image),
  ``GET /v1/videos`` (``limit`` 0-100, ``after``, ``order``), ``GET|DELETE /v1/videos/{id}``
  (a poll of a pending video carries ``openai-poll-after-ms``), ``POST /v1/videos/{id}/remix``
  (JSON or multipart), ``POST /v1/videos/extensions`` (``prompt``, ``seconds``, ``video.id``:
  the source stitched to new footage that opens on its last frame) and ``GET
  /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`` (``Range`` supported). Models:
  ``sora-2``, ``sora-2-pro`` and their dated ids (``sora-2-2025-10-06``,
  ``sora-2-2025-12-08``, ``sora-2-pro-2025-10-06``) with OpenAI's sizes and seconds; any other
  id as a gateway model (even sizes, 1-20 s). Every request needs ``Authorization: Bearer
  <key>`` (any non-empty key unless ``api_key`` is set); every error is OpenAI's envelope
  ``{"error": {"message", "type", "param", "code"}}``; every response has ``x-request-id``.
* Creative controls, drawn into the media by :mod:`simulator.render`: a first-frame image
  fills the first half second, a last-frame image the last half second, reference images are
  a strip of thumbnails along the bottom edge, sound is an AAC tone (no sound: no audio
  stream), a seed makes the MP4 byte-identical for the same prompt, size, seconds and seed (and
  another seed other colours), an extension continues its source from the last frame. Which
  protocol takes which: ``/v1/videos`` has ``input_reference`` and extensions (every model);
  OpenRouter's ``sim/veo-3.1-like`` takes first and last frame, ``input_references``,
  ``generate_audio``, ``seed`` and ``previous_job_id`` (:mod:`simulator.openrouter`); the
  Gemini API's Veo routes take ``image``, ``lastFrame``, ``referenceImages``, ``video``
  (extension), ``generateAudio`` and ``seed`` on any model id (:mod:`simulator.veo`).
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
