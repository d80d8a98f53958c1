// Image-to-video helpers shared by the crop (crop.js and its worker, worker.js) and the
// cards (card.js); loaded only once an image is picked or a card has one. Everything but
// adoptStyles() and explainRemix() also runs in the worker: no DOM there.

// input_reference is at most 8 MB decoded (GET /api/config limits.reference_max_bytes).
const MAX_BYTES = 8 * 1024 * 1024;
const QUALITIES = [0.9, 0.8, 0.7, 0.55, 0.4, 0.25];
const WORK = { side: 4096, pixels: 16e6 }; // the decoded image the upload is cut from
const PREVIEW = { side: 1600, pixels: 1600 * 1600 }; // the decoded image the frame shows

// The type and pixel size from the file's first bytes, without decoding it.
export async function sniff(file) {
  const b = new DataView(await file.slice(0, 1 << 18).arrayBuffer());
  try {
    if (b.getUint32(0) === 0x89504e47) return { type: 'image/png', dims: [b.getUint32(16), b.getUint32(20)] };
    if (b.getUint16(0) === 0xffd8) {
      for (let p = 2; p + 9 < b.byteLength;) {
        if (b.getUint8(p) !== 0xff) break;
        const m = b.getUint8(p + 1);
        if (m === 0xff) p += 1;
        else if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) p += 2;
        else if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
          return { type: 'image/jpeg', dims: [b.getUint16(p + 7), b.getUint16(p + 5)] };
        } else p += 2 + b.getUint16(p + 2);
      }
      return { type: 'image/jpeg', dims: null };
    }
    if (b.getUint32(0) === 0x52494646 && b.getUint32(8) === 0x57454250) { // RIFF....WEBP
      const chunk = b.getUint32(12);
      let dims = null;
      if (chunk === 0x56503820) dims = [b.getUint16(26, true) & 0x3fff, b.getUint16(28, true) & 0x3fff];
      else if (chunk === 0x5650384c) {
        const bits = b.getUint32(21, true);
        dims = [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
      } else if (chunk === 0x56503858) {
        dims = [(b.getUint32(24, true) & 0xffffff) + 1, (b.getUint32(27, true) & 0xffffff) + 1];
      }
      return { type: 'image/webp', dims };
    }
  } catch { /* a truncated header: let the decoder judge */ }
  return { type: null, dims: null };
}

// createImageBitmap options that bound the decoded size (the aspect ratio is kept by giving
// the width only, which also holds when EXIF orientation turns the picture).
function decodeOptions(dims, { side, pixels }) {
  const options = { imageOrientation: 'from-image' };
  if (!dims || !dims[0] || !dims[1]) return options;
  const scale = Math.min(1, side / Math.max(...dims), Math.sqrt(pixels / (dims[0] * dims[1])));
  if (scale < 1) {
    options.resizeWidth = Math.max(1, Math.round(dims[0] * scale));
    options.resizeQuality = 'high';
  }
  return options;
}

// The file decoded twice by createImageBitmap, each at a bounded size: `full` to cut the
// upload from, `preview` for the frame. Never an <img> decode of the whole photo.
async function decode(file) {
  const { dims } = await sniff(file);
  let full = null;
  try {
    const both = await Promise.all([
      createImageBitmap(file, decodeOptions(dims, WORK)),
      dims ? createImageBitmap(file, decodeOptions(dims, PREVIEW)) : null,
    ]);
    full = both[0];
    const preview = both[1] || await createImageBitmap(full, decodeOptions([full.width, full.height], PREVIEW));
    return { full, preview };
  } catch (err) {
    full?.close();
    throw err;
  }
}

// `source` (or its `rect`) drawn onto a w x h canvas and encoded as JPEG, at quality 0.9 or
// lower until it fits in maxBytes.
async function encode(source, rect, w, h, maxBytes = MAX_BYTES) {
  const offscreen = typeof OffscreenCanvas === 'function';
  const canvas = offscreen ? new OffscreenCanvas(w, h) : document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000'; // transparent PNG areas become black, as in a video frame
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = 'high';
  if (rect) ctx.drawImage(source, rect.sx, rect.sy, rect.sw, rect.sh, 0, 0, w, h);
  else ctx.drawImage(source, 0, 0, w, h);
  for (const quality of QUALITIES) {
    const blob = offscreen
      ? await canvas.convertToBlob({ type: 'image/jpeg', quality })
      : await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (!blob) break;
    if (blob.size <= maxBytes) return blob;
  }
  throw new Error('The image could not be made small enough to send. Try another image.');
}

export const readAsDataUrl = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.addEventListener('load', () => resolve(reader.result));
  reader.addEventListener('error', () => reject(reader.error));
  reader.readAsDataURL(blob);
});

// The picked file's full-size bitmap, which uploads are cut from, held where it was decoded:
// in the worker, or in the page where workers cannot draw. The latest file wins: a decode
// overtaken by a newer file (or a clear) ends in 'superseded'.
export function createHolder() {
  let full = null;
  let latest = 0;
  return {
    async decode(file) {
      const n = ++latest;
      const images = await decode(file);
      if (n !== latest) {
        images.full.close();
        images.preview.close();
        throw new Error('superseded');
      }
      full?.close();
      full = images.full;
      return { size: { width: full.width, height: full.height }, preview: images.preview };
    },
    async encode(rect, w, h) {
      if (!full) throw new Error('No image to send.');
      return encode(full, rect, w, h);
    },
    clear() {
      latest++;
      full?.close();
      full = null;
    },
  };
}

// A whole image (ImageBitmap, <img> or canvas) as a w x h JPEG data: URL.
export const toDataUrl = async (source, w, h, maxBytes = MAX_BYTES) =>
  readAsDataUrl(await encode(source, null, w, h, maxBytes));

// The CSS of a lazily loaded module, adopted once (CSSOM is allowed by the page's CSP).
export { adoptStyles } from '../sheet.js';

// The remix note says that a remix takes no image (the upstream remix API has no such input).
export function explainRemix() {
  const note = document.querySelector('#remix-note p');
  if (note && !note.querySelector('.ref-remix')) {
    const span = document.createElement('span');
    span.className = 'ref-remix';
    span.textContent = ' A remix takes no first-frame image.';
    note.append(span);
  }
}
