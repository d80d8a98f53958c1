// Hover scrubbing, loaded when a finished video is first pointed at: the spritesheet the
// archive keeps (variant=spritesheet: frames in a grid, each of the video's shape) shows the
// frame under the pointer, left to right through the video, until the video plays. Without
// a spritesheet (some upstreams have none) nothing changes.

import { el } from './dom.js';
import { parseSize } from './format.js';
import { adoptStyles } from './sheet.js';

adoptStyles(`
.scrub { position: absolute; inset: 0; pointer-events: none; background-repeat: no-repeat; }
.scrub-bar { position: absolute; left: 0; bottom: 0; height: 3px; background: var(--accent); }
`);

// Columns and rows of a sheet whose cells have the video's aspect: the fewest rows that
// make a whole number of columns (the simulator's is 5 x 2).
function grid(img, aspect) {
  for (let rows = 1; rows <= 12; rows++) {
    const cols = img.naturalWidth / ((img.naturalHeight / rows) * aspect);
    if (cols >= 1 && Math.abs(cols - Math.round(cols)) < 0.03) return { cols: Math.round(cols), rows };
  }
  return null;
}

export function attach(video, job) {
  const url = `${job.media_url}${job.media_url.includes('?') ? '&' : '?'}variant=spritesheet`;
  const img = new Image();
  img.src = url;
  img.decode().then(() => {
    const { w, h } = parseSize(job.size);
    const g = grid(img, w / h);
    if (!g) return;
    const frames = g.cols * g.rows;
    const layer = el('div', 'scrub');
    const bar = el('div', 'scrub-bar');
    layer.append(bar);
    layer.hidden = true;
    layer.style.backgroundImage = `url("${img.currentSrc || url}")`;
    layer.style.backgroundSize = `${g.cols * 100}% ${g.rows * 100}%`;
    video.after(layer);
    const idle = () => video.paused && (video.currentTime === 0 || video.ended);
    video.addEventListener('pointermove', (e) => {
      if (!idle()) {
        layer.hidden = true;
        return;
      }
      const box = video.getBoundingClientRect();
      const at = Math.min(0.999, Math.max(0, (e.clientX - box.left) / box.width));
      const i = Math.floor(at * frames);
      const x = g.cols > 1 ? ((i % g.cols) / (g.cols - 1)) * 100 : 0;
      const y = g.rows > 1 ? (Math.floor(i / g.cols) / (g.rows - 1)) * 100 : 0;
      layer.style.backgroundPosition = `${x}% ${y}%`;
      layer.dataset.frame = String(i);
      bar.style.width = `${at * 100}%`;
      layer.hidden = false;
    });
    video.addEventListener('pointerleave', () => { layer.hidden = true; });
    video.addEventListener('play', () => { layer.hidden = true; });
  }, () => {});
}
