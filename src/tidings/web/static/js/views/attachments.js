// Attachments on screen: the composer's tray and the attachments of messages.
//
// The tray (above the composer) holds the files for the next message: picked with the 📎
// button, dropped on the conversation pane, or pasted into the composer. Each uploads at once
// (actions.js `uploadAttachment`), showing its progress, then the server's thumbnail; a failure
// shows the server's reason on its tile (a file over the limit is refused before it is sent:
// the page knows the limit). ✕ takes a file out (discarding it on the server once uploaded).
// Send waits for uploads in progress: it is off, and the tray says why, until they are done.
// Sending takes the uploaded files out of the tray with the message (its pending copy shows
// them at once); switching conversations discards what the tray holds, as the text goes too.
//
// A message shows its images as thumbnails (sized from the view before they load) that open
// the full-size viewer (a modal <dialog>: Escape or ✕ closes it, focus goes back), its videos
// with the browser's controls, and other files as download cards with their size. Images have
// no local preview URL before they are uploaded (the CSP allows no blob: images): a canvas
// drawn from the file stands in.
import { discardAttachment, uploadAttachment } from "../actions.js";
import {
  addFiles,
  emptyTray,
  fitWithin,
  formatSize,
  newTray,
  removeItem,
  setFailed,
  setProgress,
  setUploaded,
  trayStatus,
} from "../attachments.js";
import { h, renderKeyed, svgIcon, testid } from "../dom.js";
import { reportError } from "../errors.js";
import { giveFocusBack, trapFocus } from "./focus.js";

const THUMB_PX = 280; // a message's image, at most (the server's thumbnails are 320 px)
const VIDEO_PX = 360;
const TRAY_PREVIEW_PX = 112; // the canvas a picked image is drawn on before its upload ends

// Icons as SVG paths (no emoji font needed): a document, a film.
const FILE_ICON = "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm2 16H8v-2h8zm0-4H8v-2h8zm-3-5V3.5L18.5 9z";
const VIDEO_ICON = "M18 4l2 4h-3l-2-4h-2l2 4h-3l-2-4H8l2 4H7L5 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V4z";

const trayEl = testid("attachment-tray");
const trayList = trayEl.querySelector(".tray-items");
const trayHint = testid("tray-hint");
const attachButton = testid("attach-button");
const fileInput = testid("attach-input");
const dropZone = testid("drop-zone");
const viewer = testid("attachment-viewer");
const viewerImage = testid("viewer-image");
const viewerName = testid("viewer-name");
const viewerDownload = testid("viewer-download");

/** The largest upload the server takes (the page is told, app.html). */
const maxBytes = Number(fileInput.dataset.maxBytes) || Infinity;

const tray = newTray();
const aborts = new Map(); // tray key -> abort() of its upload in progress
let changed = () => {};
let canAttach = () => false;
let viewerOpener = null;

/**
 * Wire the tray to the composer `input` and the conversation `pane` (where files are dropped),
 * and the viewer to the message `list`. `accepting()` says whether files can be attached now (a
 * conversation is open); `onChange()` hears that the tray changed (the Send button follows).
 */
export function mountAttachments({ pane, input, list, accepting, onChange }) {
  canAttach = accepting;
  changed = onChange;
  attachButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    attachFiles([...fileInput.files]);
    fileInput.value = "";
  });
  input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length || !canAttach()) return;
    event.preventDefault();
    attachFiles(files);
  });
  mountDrop(pane);
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-view-url]");
    if (button && list.contains(button)) openViewer(button);
  });
  testid("viewer-close").addEventListener("click", () => viewer.close());
  trapFocus(viewer);
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close(); // the backdrop
  });
  viewer.addEventListener("close", () => {
    viewerImage.removeAttribute("src");
    giveFocusBack(viewer, viewerOpener);
    viewerOpener = null;
  });
}

// The tray ----------------------------------------------------------------------------------------

/** What the composer may send with `text` (see attachments.js `trayStatus`). */
export function composerStatus(text) {
  return trayStatus(tray, text);
}

/** The uploaded files, for the message being sent: the tray empties (failed tiles go too). */
export function takeAttachments() {
  const { attachments } = trayStatus(tray, "");
  emptyTray(tray);
  draw();
  return attachments;
}

/** Empty the tray, discarding its uploads on the server (the conversation changed). */
export function discardTray() {
  for (const item of emptyTray(tray)) forget(item);
  draw();
}

function attachFiles(files) {
  if (!files.length) return;
  for (const item of addFiles(tray, files, { maxBytes })) upload(item);
  draw();
}

function upload(item) {
  const { done, abort } = uploadAttachment(item.file, {
    onProgress: (loaded) => {
      setProgress(tray, item.key, loaded);
      drawProgress(item);
    },
  });
  aborts.set(item.key, abort);
  done.then(
    (attachment) => {
      aborts.delete(item.key);
      if (!tray.items.includes(item)) {
        discard(attachment.id); // taken out as it finished
        return;
      }
      setUploaded(tray, item.key, attachment);
      draw();
    },
    (error) => {
      aborts.delete(item.key);
      if (error?.name === "AbortError" || !tray.items.includes(item)) return;
      reportError(`Couldn't upload ${item.name}`, error, (reason) => {
        setFailed(tray, item.key, reason);
        draw();
      });
    },
  );
}

/** Stop an item's upload, or discard what it uploaded. */
function forget(item) {
  aborts.get(item.key)?.();
  aborts.delete(item.key);
  if (item.status === "done") discard(item.attachment.id);
}

function discard(id) {
  // Not worth a message if it fails: unsent uploads are swept on the server anyway.
  discardAttachment(id).catch((error) => console.warn("Couldn't discard an upload", error));
}

function remove(key) {
  const item = removeItem(tray, key);
  if (item) forget(item);
  draw();
}

function draw() {
  renderKeyed(trayList, tray.items, (item) => item.key, createTile, updateTile);
  const { hint } = trayStatus(tray, "");
  trayHint.textContent = hint ?? "";
  trayHint.hidden = !hint;
  trayEl.hidden = tray.items.length === 0 && !hint;
  changed();
}

function createTile(item) {
  return h(
    "li",
    { class: "tray-item", testid: "attachment-chip", dataset: { key: String(item.key) } },
    h("span", { class: "tray-preview", "aria-hidden": "true" }, previewOf(item)),
    h(
      "span",
      { class: "tray-info" },
      h("span", { class: "tray-name", testid: "attachment-chip-name", title: item.name, text: item.name }),
      h("span", { class: "tray-size", text: formatSize(item.size) }),
      h("progress", { class: "tray-progress", testid: "upload-progress", max: Math.max(1, item.size), value: 0, "aria-label": `Uploading ${item.name}` }),
      h("span", { class: "tray-error", testid: "attachment-chip-error", role: "alert" }),
    ),
    h("button", {
      class: "icon-btn tray-remove",
      type: "button",
      testid: "attachment-chip-remove",
      "aria-label": `Remove ${item.name}`,
      title: "Remove",
      text: "✕",
      onclick: () => remove(item.key),
    }),
  );
}

function updateTile(li, item) {
  li.classList.toggle("uploading", item.status === "uploading");
  li.classList.toggle("failed", item.status === "failed");
  li.classList.toggle("done", item.status === "done");
  li.dataset.status = item.status;
  li.querySelector(".tray-progress").hidden = item.status !== "uploading";
  const error = li.querySelector(".tray-error");
  error.hidden = item.status !== "failed";
  error.textContent = item.error ?? "";
  const thumbnail = item.attachment?.thumbnail_url;
  const preview = li.querySelector(".tray-preview");
  if (thumbnail && !preview.querySelector("img")) {
    preview.replaceChildren(h("img", { src: thumbnail, alt: "", width: TRAY_PREVIEW_PX / 2, height: TRAY_PREVIEW_PX / 2 }));
  }
  drawProgress(item, li);
}

function drawProgress(item, li = trayList.querySelector(`:scope > [data-key="${item.key}"]`)) {
  const bar = li?.querySelector(".tray-progress");
  if (bar) bar.value = item.loaded;
}

/** A tile's picture: the image drawn small from the file (until the server's thumbnail), or
 * an icon. */
function previewOf(item) {
  if (!item.image || item.status === "failed" || typeof createImageBitmap !== "function") {
    return svgIcon(item.type.startsWith("video/") ? VIDEO_ICON : FILE_ICON, { className: "tray-icon" });
  }
  const canvas = h("canvas", { class: "tray-canvas", width: TRAY_PREVIEW_PX, height: TRAY_PREVIEW_PX });
  // Decoded at the canvas's width (its height follows), then centred to cover the square.
  createImageBitmap(item.file, { resizeWidth: TRAY_PREVIEW_PX, resizeQuality: "medium" })
    .then((bitmap) => {
      const scale = Math.max(1, TRAY_PREVIEW_PX / bitmap.height);
      const [width, height] = [bitmap.width * scale, bitmap.height * scale];
      canvas.getContext("2d")?.drawImage(bitmap, (TRAY_PREVIEW_PX - width) / 2, (TRAY_PREVIEW_PX - height) / 2, width, height);
      bitmap.close();
    })
    .catch(() => canvas.replaceWith(svgIcon(FILE_ICON, { className: "tray-icon" }))); // not decodable here: the server says
  return canvas;
}

/** A decorative icon (an SVG path, 24 x 24). */
/** Dragging files over the pane shows where to drop them. */
function mountDrop(pane) {
  let depth = 0; // dragenter/dragleave pairs (they come for each element crossed)
  const withFiles = (event) => Boolean(event.dataTransfer?.types?.includes("Files")) && canAttach();
  const hide = () => {
    depth = 0;
    dropZone.hidden = true;
  };
  pane.addEventListener("dragenter", (event) => {
    if (!withFiles(event)) return;
    event.preventDefault();
    depth += 1;
    dropZone.hidden = false;
  });
  pane.addEventListener("dragover", (event) => {
    if (!withFiles(event)) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "copy";
    dropZone.hidden = false;
  });
  pane.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropZone.hidden = true;
  });
  pane.addEventListener("drop", (event) => {
    if (!withFiles(event)) return;
    event.preventDefault();
    hide();
    attachFiles([...event.dataTransfer.files]);
  });
  // Files dropped anywhere else would replace the page with the file: refused instead.
  window.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types?.includes("Files") || (pane.contains(event.target) && canAttach())) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "none";
  });
  window.addEventListener("drop", (event) => {
    if (event.dataTransfer?.types?.includes("Files")) event.preventDefault();
    hide();
  });
  window.addEventListener("dragend", hide);
}

// Messages' attachments -------------------------------------------------------------------------

/** Draw a message's attachments under its bubble (none: nothing). They do not change once sent
 * (a deleted message has none). */
export function drawMessageAttachments(bubble, attachments) {
  let el = bubble.parentElement.querySelector(":scope > .msg-attachments");
  if (!attachments?.length) {
    el?.remove();
    return;
  }
  if (!el) {
    el = h("div", { class: "msg-attachments", testid: "message-attachments" });
    bubble.after(el);
  }
  renderKeyed(el, attachments, (a) => a.id, attachmentElement);
}

function attachmentElement(a) {
  if (a.kind === "image") {
    const size = fitWithin(a.width, a.height, THUMB_PX);
    return h(
      "button",
      { class: "att-image", type: "button", testid: "attachment-image", dataset: { viewUrl: a.url, viewName: a.filename }, title: a.filename },
      h("img", { src: a.thumbnail_url ?? a.url, alt: a.filename, width: size?.width, height: size?.height, loading: "lazy", decoding: "async" }),
    );
  }
  if (a.kind === "video") {
    const size = fitWithin(a.width, a.height, VIDEO_PX);
    return h(
      "figure",
      { class: "att-video", testid: "attachment-video" },
      h("video", { src: a.url, controls: true, preload: "metadata", width: size?.width, height: size?.height, "aria-label": a.filename }),
      h("figcaption", {}, h("a", { href: a.url, download: a.filename, text: a.filename }), ` · ${formatSize(a.size)}`),
    );
  }
  return h(
    "a",
    { class: "att-file", href: a.url, download: a.filename, testid: "attachment-file", title: `Download ${a.filename}` },
    svgIcon(FILE_ICON, { className: "att-file-icon" }),
    h("span", { class: "att-file-text" }, h("span", { class: "att-file-name", text: a.filename }), h("span", { class: "att-file-size", text: formatSize(a.size) })),
  );
}

/** Show an image full size: `opener` is its thumbnail's button. */
function openViewer(opener) {
  const { viewUrl: url, viewName: name } = opener.dataset;
  viewerOpener = opener;
  viewerImage.src = url;
  viewerImage.alt = name;
  viewerName.textContent = name;
  viewerDownload.href = url;
  viewerDownload.download = name;
  viewerDownload.setAttribute("aria-label", `Download ${name}`);
  viewer.showModal();
}
