"""Veo on Vertex AI (``predictLongRunning`` + ``fetchPredictOperation``), simulated, with
Google's OAuth token endpoint and Cloud Storage's media route beside it
(docs/upstreams/vertex.md).

It shares the job store and the renderer with the ``/v1/videos`` endpoints, so the same clock,
speed, prompt markers and real media apply. Routes, on the simulator's root URL as on Google's
hosts::

    POST /oauth2/token       grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
    POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning
    POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:fetchPredictOperation
    GET  /storage/v1/b/{bucket}/o/{object}?alt=media     (a result written to ``storageUri``)

The token endpoint checks the assertion's RS256 signature against the simulator's own test
service account (``service_account_json``: a key pair made for this process, never a real
credential) and its claims (``iss``, ``aud`` = this endpoint, the ``cloud-platform`` scope,
``iat``/``exp`` at most an hour apart and current, ``kid``), and answers OAuth's
``invalid_grant`` otherwise. The other routes want a token it issued and that has not expired
(``Authorization: Bearer``), or an ``x-goog-api-key`` (any, or ``api_key`` when set): 401
UNAUTHENTICATED otherwise; a token used on another project is 403 PERMISSION_DENIED.

A result comes back inline (``bytesBase64Encoded``) unless the create named ``storageUri``
(``gcsUri``). Markers as in :mod:`simulator.veo`: ``[fail:create]`` 500, ``[fail:ratelimit]``
429 with ``retry-after`` and ``RetryInfo``, ``[fail:moderation]`` finishes with
``raiMediaFilteredCount`` and no video, ``[fail:render]`` with an operation ``error``. Last
frame and reference images are validated as Vertex documents them; the render uses the first
frame only.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .api import JsonResponse, Request, Response
from .api import _file_response as file_response
from .veo import (
    RAI_REASON,
    SIZES,
    VeoApi,
    VeoError,
    VeoRequest,
    _invalid,
    check_markers,
    json_object,
    parse_request,
)

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_SECONDS = 3599
CLOCK_SKEW_SECONDS = 300
PROJECT = "simulated-project"
RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
_MODEL_PATH = (
    r"/v1/(?P<resource>projects/(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"/locations/(?P<location>[a-z0-9-]+)/publishers/google/models/(?P<model>[A-Za-z0-9._-]+))"
)
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/oauth2/token"), "token"),
    ("POST", re.compile(rf"{_MODEL_PATH}:predictLongRunning"), "create"),
    ("POST", re.compile(rf"{_MODEL_PATH}:fetchPredictOperation"), "operation"),
    ("GET", re.compile(r"/storage/v1/b/(?P<bucket>[a-z0-9._-]+)/o/(?P<object>[^/]+)"), "media"),
)
# Parameters Vertex takes beyond the Gemini API's (simulator/veo.py PARAMETERS): checked or
# accepted here, never rendered.
VERTEX_ONLY = frozenset({"storageUri", "enhancePrompt", "compressionQuality", "resizeMode"})
_STORAGE_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,221}[a-z0-9])/(?P<prefix>\S*)")


class OAuthError(VeoError):
    """An error of the token endpoint, in OAuth's shape rather than Google's envelope."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(status, description)
        self.error = error

    def response(self) -> JsonResponse:
        return JsonResponse(self.status, {"error": self.error, "error_description": self.message})


@dataclass(frozen=True)
class Operation:
    name: str
    resource: str  # the model resource the operation belongs to
    bucket: str | None = None  # where the result goes, when the create named storageUri
    object: str | None = None


class VertexApi(VeoApi):
    """Serves the Vertex AI, OAuth token and Cloud Storage routes."""

    ROUTES = ROUTES
    PUBLIC = frozenset({"token"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stats = {"token": 0, "create": 0, "operation": 0, "media": 0}
        self._key: rsa.RSAPrivateKey | None = None
        self._account: dict[str, str] = {}
        self._tokens: dict[str, float] = {}  # access token -> expiry (clock seconds)
        self._operations: dict[str, Operation] = {}  # job id -> operation
        self._objects: dict[tuple[str, str], str] = {}  # (bucket, object) -> job id
        self._state_lock = threading.Lock()

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith(("/v1/projects/", "/oauth2/", "/storage/v1/"))

    @property
    def service_account_json(self) -> str:
        """A service-account key file for this simulator only (made on first use)."""
        with self._state_lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = self._key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
                self._account = {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key_id": secrets.token_hex(20),
                    "private_key": pem,
                    "client_email": f"veo-simulator@{PROJECT}.iam.gserviceaccount.com",
                    "client_id": str(secrets.randbelow(10**20)),
                    "token_uri": "set VERTEX_TOKEN_URL to this simulator's /oauth2/token",
                }
            return json.dumps(self._account, indent=2)

    def revoke_tokens(self) -> None:
        """Forget every issued token (the next call with one is a 401)."""
        with self._state_lock:
            self._tokens.clear()

    # --- endpoints ------------------------------------------------------------------------
    def token(self, request: Request, params: dict[str, str]) -> Response:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        if grant != JWT_BEARER:
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant[:64]}")
        assertion = (form.get("assertion") or [""])[0]
        audience = f"http://{request.headers.get('host', '')}/oauth2/token"
        self._verify(assertion, audience)
        access = "ya29.sim-" + secrets.token_urlsafe(32)
        with self._state_lock:
            self._tokens[access] = self.clock() + TOKEN_SECONDS
        return JsonResponse(
            200, {"access_token": access, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}
        )

    def create(self, request: Request, params: dict[str, str]) -> Response:
        veo, storage = _parse_create(request.body)
        check_markers(veo.prompt)
        created = self.videos._start(self._create_params(params["model"], veo), remixed_from=None)
        assert isinstance(created, JsonResponse)
        job_id = str(created.body["id"])
        name = f"{params['resource']}/operations/{job_id}"
        operation = Operation(name, params["resource"])
        if storage is not None:
            bucket, prefix = storage
            operation = Operation(
                name, params["resource"], bucket, f"{prefix}{job_id}/sample_0.mp4"
            )
        with self._state_lock:
            self._operations[job_id] = operation
            if operation.bucket and operation.object:
                self._objects[(operation.bucket, operation.object)] = job_id
        return JsonResponse(200, {"name": name})

    def operation(self, request: Request, params: dict[str, str]) -> Response:
        body = json_object(request.body)
        name = body.get("operationName")
        if set(body) - {"operationName"} or not isinstance(name, str):
            raise _invalid('fetchPredictOperation takes {"operationName": "<operation name>"}.')
        resource, _, job_id = name.partition("/operations/")
        with self._state_lock:
            operation = self._operations.get(job_id)
        if resource != params["resource"]:
            raise _invalid(f"Operation {name[:200]} does not belong to {params['resource']}.")
        if operation is None or operation.name != name:
            raise VeoError(404, f"Operation {name[:200]} not found.")
        job, state = self._job(job_id)
        if not state.terminal:
            return JsonResponse(200, {"name": name})
        result: dict[str, Any] = {"@type": RESPONSE_TYPE, "raiMediaFilteredCount": 0}
        if state.status == "completed":
            self._require_content(job.id, state)
            assert job.media is not None
            video: dict[str, str] = {"mimeType": "video/mp4"}
            if operation.bucket:
                video["gcsUri"] = f"gs://{operation.bucket}/{operation.object}"
            else:
                data = job.media.path("video").read_bytes()
                video["bytesBase64Encoded"] = base64.b64encode(data).decode()
            result["videos"] = [video]
        elif state.error is not None and state.error.code == "moderation_blocked":
            result.update(raiMediaFilteredCount=1, raiMediaFilteredReasons=[RAI_REASON], videos=[])
        else:
            message = state.error.message if state.error else "Video generation failed."
            return JsonResponse(
                200, {"name": name, "done": True, "error": {"code": 13, "message": message}}
            )
        return JsonResponse(200, {"name": name, "done": True, "response": result})

    def media(self, request: Request, params: dict[str, str]) -> Response:
        key = (params["bucket"], unquote(params["object"]))
        with self._state_lock:
            job_id = self._objects.get(key)
        if job_id is None:
            raise VeoError(404, f"No such object: {key[0]}/{key[1][:200]}")
        job, state = self._job(job_id)
        self._require_content(job.id, state)
        assert job.media is not None
        if (request.query.get("alt") or [""])[0] != "media":
            size = job.media.path("video").stat().st_size
            metadata = {"kind": "storage#object", "bucket": key[0], "name": key[1]}
            return JsonResponse(200, {**metadata, "size": str(size), "contentType": "video/mp4"})
        return file_response(job.media, "video", request.headers.get("range"))

    # --- auth -----------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> None:
        if request.headers.get("x-goog-api-key") or request.query.get("key"):
            super()._authenticate(request)  # a Vertex API key, checked as the Gemini API does
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._state_lock:
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or self.clock() >= expires:
            raise VeoError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        project = re.match(r"/v1/projects/([^/]+)/", request.path)
        if project and project.group(1) != PROJECT:
            raise VeoError(
                403,
                f"Permission 'aiplatform.endpoints.predict' denied on resource "
                f"'projects/{project.group(1)}' (or it may not exist).",
            )

    def _verify(self, assertion: str, audience: str) -> None:
        self.service_account_json  # noqa: B018 - the key pair exists from here on
        assert self._key is not None
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={
                    "require": ["iss", "aud", "iat", "exp"],
                    "verify_exp": False,  # checked below against the simulator's clock
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise OAuthError(
                400, "invalid_grant", "Invalid JWT: the aud claim must be this token endpoint."
            ) from None
        except jwt.InvalidTokenError:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if header.get("kid") != self._account["private_key_id"]:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
        if claims["iss"] != self._account["client_email"]:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if SCOPE not in str(claims.get("scope", "")).split():
            raise OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience.")
        now, issued, expires = self.clock(), claims["iat"], claims["exp"]
        if not (
            isinstance(issued, int | float)
            and isinstance(expires, int | float)
            and 0 < expires - issued <= 3600
            and issued <= now + CLOCK_SKEW_SECONDS
            and expires > now - CLOCK_SKEW_SECONDS
        ):
            raise OAuthError(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )


def _parse_create(body: bytes) -> tuple[VeoRequest, tuple[str, str] | None]:
    """The body as the Gemini API's parser reads it, with Vertex's own rules first: a
    ``storageUri`` (bucket, prefix), ``generateAudio`` required, 720p or 1080p at any of the
    durations, reference images of type ``asset`` at 16:9 and 8 s only, no extension."""
    payload = json_object(body)
    given = payload.get("parameters") or {}
    instances = payload.get("instances")
    instance = instances[0] if isinstance(instances, list) and instances else {}
    if not isinstance(given, dict) or not isinstance(instance, dict):
        return parse_request(body), None  # the shared parser says what is wrong
    if "video" in instance:
        raise _invalid('Invalid JSON payload received. Unknown name "video".')
    parameters = {k: v for k, v in given.items() if k not in VERTEX_ONLY}
    if not isinstance(parameters.get("generateAudio"), bool):
        raise _invalid("generateAudio is required for Veo 3 models and must be a boolean.")
    aspect = parameters.get("aspectRatio", "16:9")
    resolution = parameters.pop("resolution", "720p")
    if (aspect, resolution) not in SIZES or resolution == "4k":
        raise _invalid(
            f"Unsupported aspectRatio/resolution {aspect!r}/{resolution!r}: use 16:9 or 9:16 "
            "at 720p or 1080p."
        )
    veo = parse_request(json.dumps({**payload, "parameters": parameters}).encode())
    veo = replace(veo, size=SIZES[(aspect, resolution)])
    references = instance.get("referenceImages") or []
    if any(isinstance(r, dict) and r.get("referenceType") != "asset" for r in references):
        raise _invalid('Veo 3.1 takes reference images of referenceType "asset" only.')
    if veo.references and (aspect != "16:9" or veo.seconds != 8):
        raise _invalid("Reference image to video supports 16:9 and 8 seconds only.")
    return veo, _storage(given.get("storageUri"))


def _storage(uri: object) -> tuple[str, str] | None:
    """``gs://BUCKET/PREFIX`` as (bucket, prefix ending in ``/`` or empty)."""
    if uri is None:
        return None
    match = _STORAGE_URI.fullmatch(uri) if isinstance(uri, str) else None
    if match is None:
        raise _invalid("storageUri must be a Cloud Storage URI: gs://BUCKET/PREFIX/.")
    prefix = match.group("prefix")
    return match.group("bucket"), prefix if not prefix or prefix.endswith("/") else prefix + "/"
