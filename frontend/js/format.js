// Numbers, money, sizes, times and text for display: pure, no DOM.

// Plain string work instead of Intl: this runs for every card of a long list.
export const count = (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function money(value) {
  const cents = Math.round((Number(value) || 0) * 100);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${count(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, '0')}`;
}

export function parseSize(size) {
  const [w, h] = String(size).split('x').map(Number);
  return { w: w || 0, h: h || 0 };
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

const aspects = new Map();

export function aspect(size) {
  if (!aspects.has(size)) aspects.set(size, computeAspect(size));
  return aspects.get(size);
}

function computeAspect(size) {
  const { w, h } = parseSize(size);
  if (!w || !h) return { ratio: size, orientation: '' };
  const d = gcd(w, h);
  let ratio = `${w / d}:${h / d}`;
  // 1280x720 is 16:9 exactly; round near-standard ratios for readability.
  if (Math.abs(w / h - 16 / 9) < 0.02) ratio = '16:9';
  else if (Math.abs(h / w - 16 / 9) < 0.02) ratio = '9:16';
  const orientation = w > h ? 'Landscape' : w < h ? 'Portrait' : 'Square';
  // For CSS aspect-ratio, where 16 / 9, 9 / 16 and 1 (the stylesheet's) are not it.
  const odd = ratio === '16:9' || ratio === '9:16' || w === h ? '' : `${w} / ${h}`;
  return { ratio, orientation, odd };
}

export const pixels = (size) => String(size).replace('x', '×');
export const seconds = (s) => `${s} s`;

// A job as its card says it: the actual cost once known, else the estimate; its settings.
export const price = (job) => (job.cost_usd == null ? `est. ${money(job.estimated_cost_usd)}` : money(job.cost_usd));
export const settings = (label, job) => `${label} · ${aspect(job.size).ratio} · ${seconds(job.seconds)}`;
export const details = (label, job) => `${label} · ${aspect(job.size).ratio} · ${pixels(job.size)} · ${seconds(job.seconds)} · ${price(job)}`;

const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d === 1) return 'yesterday';
  if (d < 7) return `${d} days ago`;
  return date.format(t);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const fullTime = (iso) => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : dateTime.format(t);
};

export function truncate(text, max = 60) {
  const s = String(text).replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
