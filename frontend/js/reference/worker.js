// The first-frame image off the main thread, for crop.js: decodes a picked file
// (keeping the full-size bitmap here, sending the preview back) and encodes crops of it.

import { decode, encode } from './image.js';

let full = null;
let latest = 0;

self.addEventListener('message', async ({ data }) => {
  try {
    if (data.type === 'decode') {
      latest = data.id;
      const images = await decode(data.file);
      if (data.id !== latest) { // a newer file was picked meanwhile
        images.full.close();
        images.preview.close();
        self.postMessage({ id: data.id, error: 'superseded' });
        return;
      }
      full?.close();
      full = images.full;
      const { preview } = images;
      self.postMessage({ id: data.id, width: full.width, height: full.height, preview }, [preview]);
    } else if (data.type === 'encode') {
      if (!full) throw new Error('No image to send.');
      self.postMessage({ id: data.id, blob: await encode(full, data.rect, data.w, data.h) });
    } else if (data.type === 'clear') {
      latest = data.id;
      full?.close();
      full = null;
    }
  } catch (err) {
    self.postMessage({ id: data.id, error: err.message || String(err) });
  }
});
