// Attachments without the page: the upload tray's state (the files picked for the next message,
// each uploading, uploaded or failed) and how attachments are named and sized on screen. Pure
// functions over plain objects, so tests/js can check them; views/attachments.js draws them.
//
// A tray item is `{key, file, name, size, type, image, status, loaded, attachment, error}`:
// `status` is "uploading" (`loaded` bytes sent of `size`), "done" (`attachment` is the server's
// AttachmentView) or "failed" (`error` says why, in words for the user). A message carries at
// most MAX_ATTACHMENTS of them (the server's limit too); failed items do not count.

export const MAX_ATTACHMENTS = 10;
/** The server's limit on a `filename` (code points). */
const MAX_NAME = 255;
const UNITS = ["KB", "MB", "GB", "TB"];

/** A byte count for people: "512 B", "1.5 KB", "24 MB" (powers of 1024). */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit += 1;
  } while (value >= 1024 && unit < UNITS.length - 1);
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  // 1023.9 KB rounds to "1024 KB": say "1 MB" instead.
  if (shown >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}

/** The size to draw a `width` x `height` picture at, at most `max` pixels a side (never
 * larger than it is); null when its size is unknown. */
export function fitWithin(width, height, max) {
  if (!width || !height) return null;
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A file name the server takes (at most 255 code points), keeping its extension. */
export function uploadName(name) {
  const points = [...(name || "file")];
  if (points.length <= MAX_NAME) return points.join("");
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? [...name.slice(dot)] : [];
  if (extension.length > 16) return points.slice(0, MAX_NAME).join("");
  return [...points.slice(0, MAX_NAME - extension.length), ...extension].join("");
}

/** "📎 1 attachment", "📎 3 attachments": what a quote of a message without text shows. */
export function attachmentCountLabel(count) {
  return `📎 ${count} attachment${count === 1 ? "" : "s"}`;
}

const KIND_NAMES = { image: ["Photo", "photos"], video: ["Video", "videos"], file: ["File", "files"] };

/** What a message with attachments and no text shows in the sidebar: "📎 Photo", "📎 File",
 * "📎 3 photos", "📎 2 files" (mixed kinds are files). */
export function attachmentSummary(attachments) {
  const kinds = new Set(attachments.map((a) => a.kind));
  const [one, many] = KIND_NAMES[kinds.size === 1 ? [...kinds][0] : "file"] ?? KIND_NAMES.file;
  return attachments.length === 1 ? `📎 ${one}` : `📎 ${attachments.length} ${many}`;
}

// The tray -------------------------------------------------------------------------------------

export function newTray() {
  return { items: [], nextKey: 1, notice: null };
}

/** Items that are, or will be, sent with the message. */
function counted(tray) {
  return tray.items.filter((item) => item.status !== "failed");
}

/**
 * Add `files` (File-like: name, size, type) to the tray: each one too large (over `maxBytes`)
 * is added as failed, saying so; files beyond MAX_ATTACHMENTS are not added, and the tray's
 * `notice` says how many. Returns the items added that are to be uploaded.
 */
export function addFiles(tray, files, { maxBytes = Infinity } = {}) {
  const room = MAX_ATTACHMENTS - counted(tray).length;
  const toUpload = [];
  let refused = 0;
  let taken = 0;
  for (const file of files) {
    const tooLarge = file.size > maxBytes;
    if (!tooLarge && taken >= room) {
      refused += 1;
      continue;
    }
    const item = {
      key: tray.nextKey++,
      file,
      name: file.name || "file",
      size: file.size,
      type: file.type || "",
      image: /^image\//.test(file.type || ""),
      status: tooLarge ? "failed" : "uploading",
      loaded: 0,
      attachment: null,
      error: tooLarge ? `Too large (${formatSize(file.size)}): the limit is ${formatSize(maxBytes)}.` : null,
    };
    tray.items.push(item);
    if (!tooLarge) {
      taken += 1;
      toUpload.push(item);
    }
  }
  tray.notice = refused
    ? `A message takes up to ${MAX_ATTACHMENTS} files: ${refused} ${refused === 1 ? "was" : "were"} not added. Send these first, then the rest.`
    : null;
  return toUpload;
}

function itemOf(tray, key) {
  return tray.items.find((item) => item.key === key);
}

/** `loaded` bytes of an upload have been sent. */
export function setProgress(tray, key, loaded) {
  const item = itemOf(tray, key);
  if (item?.status === "uploading") item.loaded = Math.min(loaded, item.size);
}

/** The upload finished: the server's AttachmentView. */
export function setUploaded(tray, key, attachment) {
  const item = itemOf(tray, key);
  if (!item) return;
  item.status = "done";
  item.loaded = item.size;
  item.attachment = attachment;
  item.error = null;
}

/** The upload failed, `reason` in words for the user. */
export function setFailed(tray, key, reason) {
  const item = itemOf(tray, key);
  if (!item) return;
  item.status = "failed";
  item.error = reason;
}

/** Take an item out of the tray; returns it (or undefined). */
export function removeItem(tray, key) {
  const item = itemOf(tray, key);
  if (item) tray.items = tray.items.filter((other) => other !== item);
  tray.notice = null;
  return item;
}

/** Empty the tray; returns what it held. */
export function emptyTray(tray) {
  const items = tray.items;
  tray.items = [];
  tray.notice = null;
  return items;
}

/**
 * What the composer can do with the tray and the text typed: `attachments` to send (uploaded,
 * in the tray's order), `uploading` (how many are still on their way), `canSend` (some text or
 * an attachment, and no upload in progress: Send waits for them) and `hint` (why not, or the
 * tray's notice).
 */
export function trayStatus(tray, text) {
  const attachments = tray.items.filter((item) => item.status === "done").map((item) => item.attachment);
  const uploading = tray.items.filter((item) => item.status === "uploading").length;
  const something = text.trim() !== "" || attachments.length > 0;
  const waiting = uploading ? `Uploading ${uploading === 1 ? "1 file" : `${uploading} files`}… Send is on once ${uploading === 1 ? "it is" : "they are"} done.` : null;
  const hint = [tray.notice, waiting].filter(Boolean).join(" ") || null;
  return { attachments, uploading, canSend: something && uploading === 0, hint };
}
