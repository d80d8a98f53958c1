// The model catalog from GET /api/config, with the questions the UI asks of it.

export function createCatalog(config) {
  const models = config.models || [];
  const byId = new Map(models.map((m) => [m.id, m]));
  const defaults = config.defaults || {};
  const model = (id) => byId.get(id) || null;

  // audio: the sound price, where the model has one.
  const pricePerSecond = (id, size, audio) => {
    const m = model(id);
    if (!m) return 0;
    const bySize = (audio && m.price_per_second_with_audio_by_size) || m.price_per_second_by_size || {};
    return Number(bySize[size] ?? m.price_per_second_usd ?? 0);
  };

  return {
    models,
    defaults,
    upstream: config.upstream || 'remote',
    maxPromptChars: (config.limits && config.limits.prompt_max_chars) || 32000,
    model,
    label: (id) => model(id)?.label || id,
    // Offered now: an old job's model may be gone from the catalog.
    offered: (id) => byId.has(id),
    supportsRemix: (id) => Boolean(model(id)?.supports_remix),
    pricePerSecond,
    cost: (id, size, seconds, audio) => Number(seconds) * pricePerSecond(id, size, audio),
    // Keep a choice if the model allows it, else the catalog default, else the first allowed.
    pick(list, current, fallback) {
      const has = (v) => list.some((x) => String(x) === String(v));
      if (has(current)) return list.find((x) => String(x) === String(current));
      if (has(fallback)) return list.find((x) => String(x) === String(fallback));
      return list[0];
    },
  };
}
