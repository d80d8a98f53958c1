// OpenRouter's own TypeScript SDK (`@openrouter/sdk`) against a base URL: does it accept what
// that server sends, and what we send? Used by tests/upstreams/test_openrouter_vendor_sdk.py
// through tests/support/vendor_sdk.py; every check here is the SDK's own zod schema.
//
//   OPENROUTER_SDK_DIR=<install root, holds node_modules/> OPENROUTER_API_KEY=<key> \
//     node openrouter_sdk_probe.mjs run --base-url http://127.0.0.1:PORT/api/v1 \
//       --model sim/veo-3.1-like --prompt "..." [--duration 4] [--size 1280x720 |
//       --resolution 720p --aspect-ratio 16:9] [--first-frame image.png] [--timeout 120]
//
//     listVideosModels, generate, getGeneration until a terminal status, getVideoContent (when
//     completed); prints a JSON summary on stdout. The SDK validates every response; a shape it
//     does not accept ends the probe with exit code 3 and the SDK's validation error text.
//
//   OPENROUTER_SDK_DIR=... node openrouter_sdk_probe.mjs validate-request < body.json
//
//     The JSON body of a `POST /videos` (wire names, snake_case) through the schema `generate`
//     applies to its input (CreateVideosRequest -> VideoGenerationRequest$outboundSchema), then
//     back to the wire: it must come out unchanged. Prints {"ok": true, "wire": ...} or
//     {"ok": false, "error": ...} (exit code 3); a JSON array of bodies gives
//     {"ok", "results": [one of those per body]}.
//
// Exit codes: 0 ok, 2 usage, 3 the SDK's validation refused a shape, 4 the API answered an
// error the SDK recognised (stdout says which), 5 no terminal status before --timeout, 1 other.
//
// Zod objects drop keys they do not know and the SDK's enums are "open" (any string passes), so
// on top of the SDK's own validation the summary lists, from the raw bodies, the keys the SDK's
// schemas do not have (`extra_keys`) and the values outside the SDK's enum constants
// (`unrecognized`); validate-request refuses both (a request's `size` is a free string in the
// SDK; it is checked against VideoModel's SupportedSize, the sizes a model can list).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const EXIT = { usage: 2, validation: 3, api: 4, timeout: 5, other: 1 };
const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);

function fail(code, payload, text) {
  if (text) process.stderr.write(`${text}\n`);
  process.stdout.write(`${JSON.stringify(payload)}\n`);
  process.exit(code);
}

const sdkDir = process.env.OPENROUTER_SDK_DIR;
if (!sdkDir) fail(EXIT.usage, { usage: "OPENROUTER_SDK_DIR is not set" });
const pkgDir = join(sdkDir, "node_modules", "@openrouter", "sdk");
const load = (rel) => import(pathToFileURL(join(pkgDir, "esm", rel)).href);
const sdkVersion = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;

const { OpenRouter, HTTPClient } = await load("index.js");
const models = await load("models/index.js");
const operations = await load("models/operations/index.js");
const errors = await load("models/errors/index.js");
const { safeParse } = await load("lib/schemas.js");

// --- what the SDK's schemas name (zod v4: a transformed object is a pipe; `.in` is the object)
function shapeKeys(schema) {
  const object = schema.in ?? schema;
  return new Set(Object.keys(object.shape ?? {}));
}
const KNOWN = {
  response: shapeKeys(models.VideoGenerationResponse$inboundSchema),
  usage: shapeKeys(models.VideoGenerationUsage$inboundSchema),
  list: shapeKeys(models.VideoModelsListResponse$inboundSchema),
  model: shapeKeys(models.VideoModel$inboundSchema),
};
const ENUMS = {
  status: Object.values(models.VideoGenerationResponseStatus),
  supported_aspect_ratios: Object.values(models.SupportedAspectRatio),
  supported_resolutions: Object.values(models.SupportedResolution),
  supported_sizes: Object.values(models.SupportedSize),
  supported_frame_images: Object.values(models.SupportedFrameImage),
  resolution: Object.values(models.VideoGenerationRequestResolution),
  aspect_ratio: Object.values(models.VideoGenerationRequestAspectRatio),
  frame_type: Object.values(models.FrameType),
  size: Object.values(models.SupportedSize),
};

function extraKeys(body, known) {
  return body && typeof body === "object" ? Object.keys(body).filter((k) => !known.has(k)) : [];
}

function checkEnum(where, name, value, out) {
  if (value !== undefined && value !== null && !ENUMS[name].includes(value)) {
    out.push(`${where}.${name}=${JSON.stringify(value)}`);
  }
}

function inspectRaw(operation, body, summary) {
  const extra = new Set(summary.extra_keys[operation] ?? []);
  const add = (keys, prefix = "") => keys.forEach((k) => extra.add(prefix + k));
  if (operation === "listVideosModels") {
    add(extraKeys(body, KNOWN.list));
    for (const [index, model] of (body?.data ?? []).entries()) {
      add(extraKeys(model, KNOWN.model), "data[].");
      for (const name of [
        "supported_aspect_ratios",
        "supported_resolutions",
        "supported_sizes",
        "supported_frame_images",
      ]) {
        for (const value of model?.[name] ?? []) {
          checkEnum(`data[${index}]`, name, value, summary.unrecognized);
        }
      }
    }
  } else {
    add(extraKeys(body, KNOWN.response));
    add(extraKeys(body?.usage, KNOWN.usage), "usage.");
    checkEnum(operation, "status", body?.status, summary.unrecognized);
  }
  summary.extra_keys[operation] = [...extra].sort();
}

// --- validate-request ------------------------------------------------------------------------
const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function toCamel(value, key) {
  if (Array.isArray(value)) return value.map((v) => toCamel(v));
  if (!value || typeof value !== "object") return value;
  if (key === "provider") return value; // provider slugs have their own mapping; passed as is
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), toCamel(v, k)]));
}

function differences(sent, wire, path = "$") {
  if (Array.isArray(sent) && Array.isArray(wire)) {
    const out = [];
    if (sent.length !== wire.length) out.push(`${path}: length ${sent.length} -> ${wire.length}`);
    sent.forEach((v, i) => out.push(...differences(v, wire[i], `${path}[${i}]`)));
    return out;
  }
  if (sent && wire && typeof sent === "object" && typeof wire === "object") {
    const out = [];
    for (const key of new Set([...Object.keys(sent), ...Object.keys(wire)])) {
      if (!(key in wire)) out.push(`${path}.${key}: not in the SDK's request schema (dropped)`);
      else if (!(key in sent)) out.push(`${path}.${key}: added by the SDK`);
      else out.push(...differences(sent[key], wire[key], `${path}.${key}`));
    }
    return out;
  }
  if (Object.is(sent, wire)) return [];
  return [`${path}: ${JSON.stringify(sent)} -> ${JSON.stringify(wire)}`];
}

function checkBody(body) {
  // Exactly what `generate` does with its argument before sending it.
  const parsed = safeParse(
    { videoGenerationRequest: toCamel(body) },
    (value) => operations.CreateVideosRequest$outboundSchema.parse(value),
    "Input validation failed",
  );
  if (!parsed.ok) {
    return { ok: false, error: parsed.error.pretty ? parsed.error.pretty() : String(parsed.error) };
  }
  const wire = JSON.parse(JSON.stringify(parsed.value.VideoGenerationRequest));
  const problems = differences(body, wire);
  const unrecognized = [];
  checkEnum("$", "resolution", body?.resolution, unrecognized);
  checkEnum("$", "aspect_ratio", body?.aspect_ratio, unrecognized);
  checkEnum("$", "size", body?.size, unrecognized);
  for (const [i, frame] of (body?.frame_images ?? []).entries()) {
    checkEnum(`$.frame_images[${i}]`, "frame_type", frame?.frame_type, unrecognized);
  }
  problems.push(...unrecognized.map((u) => `${u}: outside the SDK's enum`));
  if (problems.length) {
    const error =
      "The SDK's request schema does not carry this body unchanged:\n" + problems.join("\n");
    return { ok: false, error, problems, wire };
  }
  return { ok: true, wire };
}

// One body (an object), or several (an array of objects: {"ok", "results": [...]}).
function validateRequest(text) {
  let input;
  try {
    input = JSON.parse(text);
  } catch (err) {
    fail(EXIT.usage, { ok: false, error: `stdin is not JSON: ${err.message}` });
  }
  if (Array.isArray(input)) {
    const results = input.map(checkBody);
    const ok = results.every((r) => r.ok);
    const errors = results.filter((r) => !r.ok).map((r) => r.error).join("\n\n");
    fail(ok ? 0 : EXIT.validation, { ok, results, sdk_version: sdkVersion }, errors);
  }
  const result = checkBody(input);
  fail(result.ok ? 0 : EXIT.validation, { ...result, sdk_version: sdkVersion }, result.error);
}

// --- run -------------------------------------------------------------------------------------
function describe(err) {
  if (err instanceof errors.ResponseValidationError || err instanceof errors.SDKValidationError) {
    return { kind: "validation", text: err.pretty ? err.pretty() : String(err), raw: err.rawValue };
  }
  if (err instanceof errors.OpenRouterError || err instanceof errors.OpenRouterDefaultError) {
    return {
      kind: "api",
      name: err.name,
      status: err.statusCode,
      body: err.body,
      error: err.error ?? null,
    };
  }
  return { kind: "other", name: err?.name, text: String(err?.stack ?? err) };
}

async function run(options) {
  const summary = {
    sdk_version: sdkVersion,
    models: [],
    create: null,
    statuses: [],
    polls: 0,
    final: null,
    content: null,
    extra_keys: {},
    unrecognized: [],
  };
  let operation = "setup";
  const http = new HTTPClient();
  http.addHook("response", async (res) => {
    if ((res.headers.get("content-type") ?? "").includes("application/json") && res.ok) {
      inspectRaw(operation, await res.clone().json(), summary);
    }
  });
  const sdk = new OpenRouter({
    apiKey: process.env.OPENROUTER_API_KEY ?? "",
    serverURL: options["base-url"],
    httpClient: http,
    retryConfig: { strategy: "none" },
    timeoutMs: 30_000,
  });
  const video = sdk.videoGeneration;
  const step = async (name, call) => {
    operation = name;
    try {
      return await call();
    } catch (err) {
      const info = describe(err);
      const payload = { ...summary, failed_operation: name, error: info };
      if (info.kind === "validation") fail(EXIT.validation, payload, info.text);
      fail(info.kind === "api" ? EXIT.api : EXIT.other, payload, info.text ?? info.name);
    }
  };

  const listing = await step("listVideosModels", () => video.listVideosModels({}));
  summary.models = listing.data.map((m) => m.id);
  if (options["models-only"]) fail(0, summary);

  const request = { model: options.model, prompt: options.prompt };
  if (options.duration) request.duration = Number(options.duration);
  if (options.size) request.size = options.size;
  if (options.resolution) request.resolution = options.resolution;
  if (options["aspect-ratio"]) request.aspectRatio = options["aspect-ratio"];
  if (options["first-frame"]) {
    const data = readFileSync(options["first-frame"]);
    const mime = options["first-frame-type"] ?? "image/png";
    request.frameImages = [
      {
        type: "image_url",
        imageUrl: { url: `data:${mime};base64,${data.toString("base64")}` },
        frameType: "first_frame",
      },
    ];
  }
  const created = await step("generate", () => video.generate({ videoGenerationRequest: request }));
  summary.create = { id: created.id, status: created.status, polling_url: created.pollingUrl };
  summary.statuses.push(created.status);

  const deadline = Date.now() + Number(options.timeout ?? 120) * 1000;
  const interval = Number(options.interval ?? 0.1) * 1000;
  let job = created;
  while (!TERMINAL.has(job.status)) {
    if (Date.now() > deadline) {
      fail(EXIT.timeout, { ...summary, error: { kind: "timeout", last: job.status } }, "timeout");
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
    job = await step("getGeneration", () => video.getGeneration({ jobId: created.id }));
    summary.polls += 1;
    if (summary.statuses.at(-1) !== job.status) summary.statuses.push(job.status);
  }
  summary.final = {
    status: job.status,
    generation_id: job.generationId ?? null,
    unsigned_urls: job.unsignedUrls ?? null,
    usage: job.usage ?? null,
    error: job.error ?? null,
  };
  if (job.status === "completed") {
    const stream = await step("getVideoContent", () =>
      video.getVideoContent({ jobId: created.id, index: 0 }),
    );
    const bytes = Buffer.from(await new Response(stream).arrayBuffer());
    summary.content = {
      bytes: bytes.length,
      head_hex: bytes.subarray(0, 16).toString("hex"),
      ftyp: bytes.subarray(4, 8).toString("latin1") === "ftyp",
    };
  }
  fail(0, summary);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "validate-request") {
  validateRequest(readFileSync(0, "utf8"));
} else if (mode === "run") {
  const { values } = parseArgs({
    args: rest,
    options: {
      "base-url": { type: "string" },
      model: { type: "string" },
      prompt: { type: "string" },
      duration: { type: "string" },
      size: { type: "string" },
      resolution: { type: "string" },
      "aspect-ratio": { type: "string" },
      "first-frame": { type: "string" },
      "first-frame-type": { type: "string" },
      timeout: { type: "string" },
      interval: { type: "string" },
      "models-only": { type: "boolean" },
    },
  });
  if (!values["base-url"] || (!values["models-only"] && !values.model)) {
    fail(EXIT.usage, { usage: "run needs --base-url and --model (or --models-only)" });
  }
  await run(values);
} else {
  fail(EXIT.usage, { usage: "mode: run | validate-request" });
}
