// A job's status in words (badge and progress line), and the two questions asked of it.

export const isPending = (job) => job.status === 'queued' || job.status === 'in_progress';
// Rendered, and being copied to storage before it can be played.
export const isSaving = (job) => job.status === 'in_progress' && job.progress >= 100;

const LABELS = { queued: 'Queued', in_progress: 'Generating', completed: 'Ready', failed: 'Failed' };
export const statusLabel = (job) => (isSaving(job) ? 'Saving…' : LABELS[job.status] || job.status);

export const progressLabel = (job) => (isSaving(job) ? 'Saving…'
  : job.status === 'queued' ? 'Waiting…' : `${job.progress || 0}%`);
