// The first-frame image off the main thread, for crop.js: decodes a picked file (keeping the
// full-size bitmap here, sending the preview back) and encodes crops of it.

import { createHolder } from './image.js';

const image = createHolder();

self.addEventListener('message', async ({ data }) => {
  try {
    if (data.type === 'decode') {
      const { size, preview } = await image.decode(data.file);
      self.postMessage({ id: data.id, size, preview }, [preview]);
    } else if (data.type === 'encode') {
      self.postMessage({ id: data.id, blob: await image.encode(data.rect, data.w, data.h) });
    } else if (data.type === 'clear') {
      image.clear();
    }
  } catch (err) {
    self.postMessage({ id: data.id, error: err.message || String(err) });
  }
});
